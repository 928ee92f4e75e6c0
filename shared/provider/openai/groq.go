package openai

import (
	"bytes"
	"errors"
	"io"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
)

// groqStream reads a Groq stream, which reports usage under x_groq.usage in
// its last chunk rather than in OpenAI's usage-only chunk. That chunk carries
// the usage for metering, and a usage-only chunk is made of it for the end of
// the stream, so a client that asked for usage (the gateway shows usage-only
// chunks to no one else) gets it in OpenAI's form. When Groq sends its own
// usage chunk too, none is made. It wraps Stream so the plain OpenAI stream
// pays nothing for it.
type groqStream struct {
	*Stream
	usage   llm.Usage
	pending []byte // the usage-only chunk to send before the end
}

// Next returns the next chunk.
func (g *groqStream) Next() (llm.Chunk, error) {
	c, err := g.Stream.Next()
	if err != nil {
		if errors.Is(err, io.EOF) && g.pending != nil {
			data := g.pending
			g.pending = nil
			return llm.Chunk{Data: data, Usage: &g.usage, UsageOnly: true}, nil
		}
		return c, err
	}
	if c.Usage != nil {
		g.pending = nil // usage the OpenAI way
		return c, nil
	}
	x, ok := rawjson.Find(c.Data, "x_groq")
	if !ok {
		return c, nil
	}
	u, ok := rawjson.Find(x, "usage")
	if !ok || bytes.Equal(u, nullValue) || g.usage.UnmarshalJSON(u) != nil {
		return c, nil
	}
	c.Usage = &g.usage
	id, ok := rawjson.Find(c.Data, "id")
	if !ok {
		id = []byte(`""`)
	}
	created, ok := rawjson.Find(c.Data, "created")
	if !ok {
		created = []byte("0")
	}
	p := append(g.pending[:0], `{"id":`...)
	p = append(p, id...)
	p = append(p, `,"object":"chat.completion.chunk","created":`...)
	p = append(p, created...)
	p = append(p, `,"model":`...)
	p = append(p, g.model...)
	p = append(p, `,"choices":[],"usage":`...)
	p = append(p, u...)
	g.pending = append(p, '}')
	return c, nil
}

// Close releases the upstream connection.
func (g *groqStream) Close() error {
	g.pending = nil
	return g.Stream.Close()
}
