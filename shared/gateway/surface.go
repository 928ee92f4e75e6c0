package gateway

import (
	"context"
	"net/http"
	"strconv"

	"github.com/llm-router/router/shared/engine"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/route"
)

// A surface is one API that speaks chat: OpenAI Chat Completions, OpenAI
// Responses, Anthropic Messages. Each parses its wire format into the
// router's chat request and renders answers, stream events and errors back;
// routing, compliance, limits, the engine, metering and audit are the same
// for all, in serveChatLike.
type surface struct {
	// parse reads c.body into c.chat (and c.body into the chat JSON body
	// relaying adapters send), returning the model or route it names.
	parse func(c *call) (model string, e *llm.Error)
	// render writes a one-piece answer from the chat.completion body; nil
	// answers the chat.completion as it is.
	render func(completion []byte, u llm.Usage) ([]byte, error)
	// stream starts the writer of a streamed answer.
	stream func(c *call) streamWriter
}

// streamWriter turns committed chat.completion.chunk objects into a
// surface's server-sent events.
type streamWriter interface {
	// chunk appends the events of one chunk; an error means the chunk
	// cannot be rendered (the stream then fails as the provider's).
	chunk(dst []byte, c llm.Chunk) ([]byte, error)
	// finish appends the events that end a complete stream.
	finish(dst []byte, u *llm.Usage) []byte
	// fail appends the events that end a stream with an error.
	fail(dst []byte, e *llm.Error) []byte
}

// serveChatLike serves a chat request of any surface.
func (g *Gateway) serveChatLike(c *call, s *surface) {
	if e := c.prepare(func() (string, *llm.Error) { return s.parse(c) }); e != nil {
		c.fail(e)
		return
	}
	d := c.plan(nil)
	if len(d.Candidates) == 0 {
		c.fail(c.noCandidates(&d))
		return
	}
	sh, e := c.structuredShape()
	if e != nil {
		c.fail(e)
		return
	}
	c.shape = sh
	// A hit is rendered as a miss is.
	if s.render != nil {
		c.render = s.render
	}
	if c.route.Cache != nil && c.lookupCache(s) {
		return
	}
	p := c.enginePlan(&d)
	n := c.choices()
	if c.chat.Stream {
		p.Open = func(ctx context.Context, a *engine.Attempt) (llm.Stream, error) {
			if n > 1 && !multiChoice(a.Provider) {
				return c.fanOutStream(ctx, a, n)
			}
			return a.Provider.Stream(ctx, c.chatRequest(a.Target))
		}
		p.Sink = newSSESink(c, c.recordStream(s.stream(c)))
	} else {
		// send is every call of an attempt, a repair's too: n > 1 fans out
		// on a provider that answers one choice per call.
		send := func(ctx context.Context, a *engine.Attempt, req *llm.Request) (*llm.Response, error) {
			if n > 1 && !multiChoice(a.Provider) {
				return c.fanOut(ctx, a, req, n)
			}
			return a.Provider.Chat(ctx, req)
		}
		p.Do = func(ctx context.Context, a *engine.Attempt) (*llm.Response, error) {
			return send(ctx, a, c.chatRequest(a.Target))
		}
		if sh != nil {
			p.Do = c.checked(sh, send)
		}
	}
	c.run(p)
}

// multiChoice reports whether p answers n > 1 choices itself.
func multiChoice(p llm.Provider) bool {
	m, ok := p.(llm.MultiChoice)
	return ok && m.MultiChoice()
}

// chatRequest is one attempt's input on target t, its max_tokens clamped to
// what t's model can write (the client's figure beyond it would be refused
// upstream, and reserved against limits for nothing), then as the route's
// policy has it for t (cache markers, reasoning effort).
func (c *call) chatRequest(t *route.Target) *llm.Request {
	req := &llm.Request{Chat: c.chat, Body: c.body, Model: t.Model.ID, Upstream: t.Model.UpstreamName(),
		MaxTokens: t.Model.OutputLimit()}
	if capped, err := req.ClampOutput(t.Model.OutputCap()); err == nil {
		req = capped
	}
	if adjusted, err := c.route.Policy.Apply(req, t); err == nil {
		req = adjusted
	}
	return req
}

// oneChoice is a copy of req with n = 1, for a provider that answers one
// choice per call.
func oneChoice(req *llm.Request) (*llm.Request, error) {
	chat := *req.Chat
	chat.N = nil
	body, err := rawjson.Delete(req.Body, "n")
	if err != nil {
		return nil, llm.InvalidRequest("", llm.CodeInvalidJSON, "the request body must be a JSON object")
	}
	out := *req
	out.Chat, out.Body = &chat, body
	return &out, nil
}

// deliver writes an answer in one piece, in the surface's shape.
func (c *call) deliver(res *engine.Result) {
	c.servedBy(res.Served, len(res.Attempts))
	body := res.Response.Body
	if c.render != nil {
		out, err := c.render(body, res.Response.Usage)
		if err != nil {
			c.g.logger().Error("an answer could not be rendered", "request_id", c.rec.RequestID, "endpoint", c.rec.Endpoint,
				"provider", res.Served.Provider.Name)
			e := &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error", Code: "invalid_upstream_answer",
				Message: "the provider's answer could not be translated"}
			c.writeErr(c.w, e)
			c.rendered = e
			return
		}
		body = out
	}
	h := c.w.Header()
	h[hdrCost] = []string{strconv.FormatFloat(res.CostUSD, 'f', -1, 64)}
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(body)
}
