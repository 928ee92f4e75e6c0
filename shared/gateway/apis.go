package gateway

import (
	"net/http"
	"strconv"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/surface/messages"
	"github.com/llm-router/router/shared/surface/responses"
)

// The OpenAI Responses and Anthropic Messages surfaces: each parses its
// request into the router's chat request and renders the answer back;
// everything between is serveChatLike's, shared with Chat Completions.

func (g *Gateway) serveResponses(w http.ResponseWriter, r *http.Request) {
	var req *responses.Request
	s := &surface{
		parse: func(c *call) (string, *llm.Error) {
			var e *llm.Error
			if req, e = responses.Parse(c.body); e != nil {
				return "", e
			}
			c.chat, c.body, c.rec.Stream = req.Chat, req.Body, req.Stream()
			return req.Chat.Model, nil
		},
		render: func(completion []byte, u llm.Usage) ([]byte, error) {
			return responses.Render(make([]byte, 0, len(completion)+256), req, completion, u)
		},
		stream: func(*call) streamWriter { return &responsesWriter{s: responses.NewStream(req)} },
	}
	g.serveChatLike(g.newCall(w, r, "responses"), s)
}

// responsesWriter writes the Responses event sequence.
type responsesWriter struct{ s *responses.Stream }

func (w *responsesWriter) chunk(dst []byte, c llm.Chunk) ([]byte, error) {
	return w.s.Chunk(dst, c.Data)
}
func (w *responsesWriter) finish(dst []byte, u *llm.Usage) []byte { return w.s.Finish(dst, u) }
func (w *responsesWriter) fail(dst []byte, e *llm.Error) []byte   { return w.s.Fail(dst, e) }

func (g *Gateway) serveMessages(w http.ResponseWriter, r *http.Request) {
	var req *messages.Request
	s := &surface{
		parse: func(c *call) (string, *llm.Error) {
			var e *llm.Error
			if req, e = messages.Parse(c.body); e != nil {
				return "", e
			}
			c.chat, c.body, c.rec.Stream = req.Chat, req.Body, req.Stream()
			return req.Chat.Model, nil
		},
		render: func(completion []byte, u llm.Usage) ([]byte, error) {
			return messages.Render(make([]byte, 0, len(completion)+256), req, completion, u)
		},
		stream: func(*call) streamWriter { return &messagesWriter{s: messages.NewStream(req)} },
	}
	c := g.newCall(w, r, "messages")
	c.writeErr = writeAnthropicError
	g.serveChatLike(c, s)
}

// messagesWriter writes Anthropic's event stream.
type messagesWriter struct{ s *messages.Stream }

func (w *messagesWriter) chunk(dst []byte, c llm.Chunk) ([]byte, error) {
	return w.s.Chunk(dst, c.Data)
}
func (w *messagesWriter) finish(dst []byte, u *llm.Usage) []byte { return w.s.Finish(dst, u) }
func (w *messagesWriter) fail(dst []byte, e *llm.Error) []byte   { return w.s.Fail(dst, e) }

// writeAnthropicError answers with e in Anthropic's error shape and status.
func writeAnthropicError(w http.ResponseWriter, e *llm.Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(e.RetryAfter.Seconds()+0.999), 10))
	}
	writeJSON(w, messages.Status(e), messages.AppendError(make([]byte, 0, 128+len(e.Message)), e))
}

// serveCountTokens answers Anthropic's count_tokens with the router's
// estimate for the route's first target's tokenizer, without calling a
// provider.
func (g *Gateway) serveCountTokens(w http.ResponseWriter, r *http.Request) {
	c := g.newCall(w, r, "")
	c.writeErr = writeAnthropicError
	if e := c.prepare(func() (string, *llm.Error) {
		chat, e := messages.ParseCountTokens(c.body)
		if e != nil {
			return "", e
		}
		c.chat = chat
		return chat.Model, nil
	}); e != nil {
		c.fail(e)
		return
	}
	n := c.inputTokens(c.route.Targets[0])
	writeJSON(w, http.StatusOK, messages.AppendCount(nil, n))
}
