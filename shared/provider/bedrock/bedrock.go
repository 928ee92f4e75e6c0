// Package bedrock is the adapter for Amazon Bedrock Runtime. It translates
// OpenAI chat requests to Converse and ConverseStream, answers in OpenAI's
// shapes, serves Titan text embeddings through InvokeModel, and maps Bedrock's
// exceptions to the router's errors. Requests are signed with SigV4 by the AWS
// SDK using the default credential chain (on Lambda, the function's role).
//
// The SDK's own retries are off: the router's fallback to another target
// replaces them, and a retry inside an attempt would hide the failure from the
// gateway and spend the attempt's time budget.
package bedrock

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/llm-router/router/shared/awshttp"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

// Provider talks to Bedrock Runtime in one region (or at one endpoint).
type Provider struct {
	name   string
	client *bedrockruntime.Client
	creds  aws.CredentialsProvider // nil when the SDK found none
	now    func() time.Time
}

var (
	_ llm.Provider = (*Provider)(nil)
	_ llm.Prober   = (*Provider)(nil)
	_ llm.Embedder = (*Provider)(nil)
)

// New builds the adapter for a bedrock provider. The region is p.Region, else
// the SDK's default (AWS_REGION, which Lambda always sets); p.BaseURL, when
// set, replaces the regional endpoint (a VPC interface endpoint, or a test
// fake). New does no network I/O: LoadDefaultConfig only reads the
// environment and shared config files, and credentials are fetched lazily on
// the first signed request and then cached.
func New(p *config.Provider, d llm.Deps) (llm.Provider, error) {
	opts := []func(*awsconfig.LoadOptions) error{
		// The router's fallback replaces SDK retries (see the package comment).
		awsconfig.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
	}
	if p.Region != "" {
		opts = append(opts, awsconfig.WithRegion(p.Region))
	}
	// The factory has no context; loading reads no network.
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return nil, err
	}
	if cfg.Credentials != nil {
		cfg.Credentials = markedCredentials{cfg.Credentials}
	}
	client := bedrockruntime.NewFromConfig(cfg, func(o *bedrockruntime.Options) {
		o.Retryer = aws.NopRetryer{}
		o.RetryMaxAttempts = 0 // AWS_MAX_ATTEMPTS must not wrap the retryer again
		if p.BaseURL != "" {
			o.BaseEndpoint = aws.String(strings.TrimRight(p.BaseURL, "/"))
		}
		// The shared client is set on Bedrock's calls only, not through
		// LoadDefaultConfig: there it would make an AWS_CA_BUNDLE in the
		// environment an error, and the credential providers (STS, SSO) keep
		// the SDK's client, which honours that bundle.
		var base aws.HTTPClient = d.HTTP
		if d.HTTP == nil {
			base = cfg.HTTPClient
		}
		if base != nil {
			o.HTTPClient = awshttp.Guard(base)
		}
	})
	return &Provider{name: p.Name, client: client, creds: cfg.Credentials, now: time.Now}, nil
}

// Name is the provider's configured name.
func (p *Provider) Name() string { return p.name }

// Chat sends one Converse call.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	in, answerTool, e := converseRequest(req)
	if e != nil {
		return nil, e
	}
	out, err := p.client.Converse(ctx, in)
	if err != nil {
		return nil, p.mapError(ctx, err)
	}
	body, usage, err := chatCompletion(out, req.Model, completionID(out.ResultMetadata), p.now().Unix(), answerTool)
	if err != nil {
		return nil, badResponse(p.name, err)
	}
	return &llm.Response{Body: body, Usage: usage}, nil
}

// Stream sends one ConverseStream call; it returns once Bedrock answered 200.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	in, answerTool, e := converseRequest(req)
	if e != nil {
		return nil, e
	}
	out, err := p.client.ConverseStream(ctx, streamInput(in))
	if err != nil {
		return nil, p.mapError(ctx, err)
	}
	es := out.GetStream()
	s := newStream(p.name, es, es.Events(), completionID(out.ResultMetadata), req.Model, p.now().Unix())
	s.answerTool = answerTool
	s.creds = p.credentials(ctx)
	return s, nil
}

// Probe sends a one-token Converse to the upstream model (an InvokeModel of
// one word for Titan embedding models, which Converse does not serve). It is
// the cheapest honest check: it proves the runtime endpoint answers, the
// role may call bedrock:InvokeModel on this very model, model access is
// granted in this region, and the model is not throttled. ListFoundationModels
// would cost nothing but belongs to the control-plane service (bedrock, not
// bedrock-runtime), needs another IAM permission, and says none of that.
func (p *Provider) Probe(ctx context.Context, upstream string) error {
	if upstream == "" {
		return &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusBadRequest, Type: "invalid_request_error",
			Code: "missing_model", Message: "a bedrock probe needs the upstream model id", Provider: p.name}
	}
	if isTitanEmbed(upstream) {
		_, _, err := p.embedOne(ctx, upstream, "ping", 0)
		return err
	}
	_, err := p.client.Converse(ctx, &bedrockruntime.ConverseInput{
		ModelId:         aws.String(upstream),
		Messages:        []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "ping"}}}},
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(1)},
	})
	if err != nil {
		return p.mapError(ctx, err)
	}
	return nil
}

// mapError is mapError with the credentials the request was signed with, so
// that an exception quoting them does not pass them on.
func (p *Provider) mapError(ctx context.Context, err error) *llm.Error {
	c := p.credentials(ctx)
	return mapError(p.name, err, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
}

// credentials are the ones requests are signed with. The SDK caches them, so
// after a request this costs no call.
func (p *Provider) credentials(ctx context.Context) aws.Credentials {
	if p.creds == nil {
		return aws.Credentials{}
	}
	c, _ := p.creds.Retrieve(ctx)
	return c
}

// completionID makes the chat.completion id from Bedrock's request id, so an
// answer can be traced to Bedrock's own logs.
func completionID(md middleware.Metadata) string {
	if id, ok := awsmiddleware.GetRequestIDMetadata(md); ok && id != "" {
		return "chatcmpl-" + id
	}
	var b [12]byte
	_, _ = crand.Read(b[:])
	return "chatcmpl-bedrock-" + hex.EncodeToString(b[:])
}

// streamInput copies a Converse input into a ConverseStream input: the two
// operations take the same fields.
func streamInput(in *bedrockruntime.ConverseInput) *bedrockruntime.ConverseStreamInput {
	return &bedrockruntime.ConverseStreamInput{
		ModelId:                           in.ModelId,
		Messages:                          in.Messages,
		System:                            in.System,
		InferenceConfig:                   in.InferenceConfig,
		ToolConfig:                        in.ToolConfig,
		OutputConfig:                      in.OutputConfig,
		AdditionalModelRequestFields:      in.AdditionalModelRequestFields,
		AdditionalModelResponseFieldPaths: in.AdditionalModelResponseFieldPaths,
	}
}

// markedCredentials marks credential failures, so they are reported as the
// router's configuration problem rather than as an unreachable provider.
type markedCredentials struct{ aws.CredentialsProvider }

// Retrieve returns the credentials or a *credentialsError.
func (m markedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := m.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		return c, &credentialsError{err: err}
	}
	return c, nil
}

type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return "aws credentials: " + e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

// badResponse is the error for a 200 answer the adapter cannot translate.
func badResponse(provider string, err error) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
		Code: "bad_upstream_response", Message: "the provider's answer could not be read", Provider: provider, Err: err}
}

var errNoOutput = errors.New("converse output holds no message")
