package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/llm-router/router/shared/rawjson"

	"github.com/llm-router/router/shared/llm"
)

// Errors the router itself answers, in the API's types and codes.

func errAuth(msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindAuth, Status: http.StatusUnauthorized, Type: "authentication_error",
		Code: "invalid_api_key", Message: msg}
}

func errRouteNotAllowed(name string) *llm.Error {
	return &llm.Error{Kind: llm.KindPermission, Status: http.StatusForbidden, Type: "permission_error",
		Code: "route_not_allowed", Message: "this API key may not use " + strconv.Quote(name)}
}

func errNoCompliantTarget(route string, require []string) *llm.Error {
	return &llm.Error{Kind: llm.KindCompliance, Status: http.StatusForbidden, Type: "permission_error",
		Code: "no_compliant_target", Message: "no target of route " + strconv.Quote(route) +
			" has the compliance tags this request requires (" + strings.Join(require, ", ") + ")"}
}

func errModelNotFound(name string) *llm.Error {
	return &llm.Error{Kind: llm.KindNotFound, Status: http.StatusNotFound, Type: "invalid_request_error",
		Code: "model_not_found", Param: "model", Message: "The model " + strconv.Quote(name) + " does not exist: it is neither a route nor a model of this router"}
}

func errTooLarge(limit int64) *llm.Error {
	return &llm.Error{Kind: llm.KindTooLarge, Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error",
		Code: "request_too_large", Message: "the request body is larger than the limit of " + strconv.FormatInt(limit, 10) + " bytes"}
}

func errAllFailed(msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
		Code: "all_targets_failed", Message: msg}
}

func errInternal(msg string) *llm.Error {
	return &llm.Error{Status: http.StatusInternalServerError, Type: "api_error", Code: "internal_error", Message: msg}
}

var jsonContentType = []string{"application/json"}

// appendError appends the OpenAI error body {"error":{...}} for e.
func appendError(dst []byte, e *llm.Error) []byte {
	dst = append(dst, `{"error":{"message":`...)
	dst = rawjson.AppendString(dst, e.Message)
	dst = append(dst, `,"type":`...)
	typ := e.Type
	if typ == "" {
		typ = llm.TypeForStatus(e.Status)
	}
	dst = rawjson.AppendString(dst, typ)
	dst = append(dst, `,"param":`...)
	if e.Param == "" {
		dst = append(dst, "null"...)
	} else {
		dst = rawjson.AppendString(dst, e.Param)
	}
	dst = append(dst, `,"code":`...)
	if e.Code == "" {
		dst = append(dst, "null"...)
	} else {
		dst = rawjson.AppendString(dst, e.Code)
	}
	return append(dst, "}}"...)
}

// writeError answers with e in OpenAI's error shape. This is the one place
// errors are rendered: Message is always a text written for clients, never an
// upstream's raw Go error.
func writeError(w http.ResponseWriter, e *llm.Error) {
	status := e.Status
	if status < 400 {
		status = http.StatusBadGateway
	}
	if e.RetryAfter > 0 {
		secs := int64(e.RetryAfter.Seconds() + 0.999)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	writeJSON(w, status, appendError(make([]byte, 0, 128+len(e.Message)), e))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
