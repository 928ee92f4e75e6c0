// Package provider lists the adapters built into the router and the HTTP
// client they share. The map is built explicitly (no init registries), so a
// binary's providers are what its main asks for.
package provider

import (
	"net"
	"net/http"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/anthropic"
	"github.com/llm-router/router/shared/provider/azure"
	"github.com/llm-router/router/shared/provider/bedrock"
	"github.com/llm-router/router/shared/provider/gemini"
	"github.com/llm-router/router/shared/provider/mock"
	"github.com/llm-router/router/shared/provider/openai"
)

// Builtin returns the adapter factory of every provider type.
func Builtin() map[string]gateway.ProviderFactory {
	return map[string]gateway.ProviderFactory{
		config.TypeOpenAI:    openai.New,
		config.TypeAzure:     azure.New,
		config.TypeAnthropic: anthropic.New,
		config.TypeGemini:    gemini.New,
		config.TypeBedrock:   bedrock.New,
		config.TypeMock:      mock.New,
	}
}

// HTTPClient is the client every HTTP adapter shares. It has no overall
// timeout: each attempt's context carries the model's timeout. Idle
// connections are kept per host in numbers that match a busy router, so warm
// requests skip the TCP and TLS handshakes.
func HTTPClient() *http.Client {
	return &http.Client{Transport: firstByteTransport{&http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}}
}

// firstByteTransport tells a request's first-byte hook (llm.WithFirstByte)
// when the answer's body starts, which httptrace cannot: its first response
// byte is the headers'.
type firstByteTransport struct{ http.RoundTripper }

func (t firstByteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.RoundTripper.RoundTrip(req)
	if err == nil {
		resp.Body = llm.WatchFirstByte(req.Context(), resp.Body)
	}
	return resp, err
}
