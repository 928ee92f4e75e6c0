package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/llm-router/router/shared/engine"
	"github.com/llm-router/router/shared/llm"
	surfaceopenai "github.com/llm-router/router/shared/surface/openai"
)

// A request for n > 1 choices on a provider that answers one per call is
// served by n calls to the same target, within one attempt: the engine sees
// one answer (or one stream) and falls back as for any other. Usage and cost
// are the sum of the calls, as the provider bills them.

// fanOut makes n one-choice calls of req in parallel and merges their
// answers. The first failure cancels the others and is the attempt's.
func (c *call) fanOut(ctx context.Context, a *engine.Attempt, req *llm.Request, n int) (*llm.Response, error) {
	req, err := oneChoice(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	answers := make([]llm.Response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := a.Provider.Chat(ctx, req)
			if err != nil {
				errs[i] = err
				cancel()
				return
			}
			answers[i] = *resp
		}()
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		return nil, err
	}
	body, usage, err := surfaceopenai.AppendMerged(nil, answers)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindUpstream, Status: 502, Type: "api_error", Code: "invalid_upstream_answer",
			Provider: a.Target.Provider.Name, Message: "the provider's answers could not be merged"}
	}
	return &llm.Response{Body: body, Usage: usage}, nil
}

// firstError is the failure that ended a fan-out: the first that is not the
// cancellation the others got from it.
func firstError(errs []error) error {
	var cancelled error
	for _, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, context.Canceled) || llm.AsError(err) != nil && errors.Is(llm.AsError(err).Err, context.Canceled):
			cancelled = err
		default:
			return err
		}
	}
	return cancelled
}

// fanOutStream opens n one-choice streams and interleaves their chunks as
// one stream of n choices: each chunk's choice index is its stream's, all
// under one id; the streams' usages become one usage chunk at the end.
func (c *call) fanOutStream(ctx context.Context, a *engine.Attempt, n int) (llm.Stream, error) {
	req, err := oneChoice(c.chatRequest(a.Target))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	f := &fanStream{cancel: cancel, chunks: make(chan fanChunk, n), live: n, usages: make([]*llm.Usage, n), model: a.Target.Model.ID,
		id: "chatcmpl-" + strconv.FormatUint(rand.Uint64(), 36), created: c.start.Unix()}
	streams := make([]llm.Stream, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := a.Provider.Stream(ctx, req)
			if err != nil {
				errs[i] = err
				cancel()
				return
			}
			streams[i] = st
		}()
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		for _, st := range streams {
			if st != nil {
				_ = st.Close()
			}
		}
		cancel()
		return nil, err
	}
	f.streams = streams
	for i, st := range streams {
		f.wg.Add(1)
		go f.read(ctx, i, st)
	}
	return f, nil
}

// fanStream is n streams read as one.
type fanStream struct {
	cancel  context.CancelFunc
	streams []llm.Stream
	chunks  chan fanChunk
	wg      sync.WaitGroup
	id      string
	model   string
	created int64
	live    int // streams not ended yet
	// usages are each stream's latest usage: a stream may report it on
	// several chunks, each time its running total.
	usages []*llm.Usage
	done   bool
	closed sync.Once
}

type fanChunk struct {
	i     int // the stream's index
	data  []byte
	usage *llm.Usage
	only  bool
	err   error
}

// read relays stream i's chunks, renumbered, until it ends.
func (f *fanStream) read(ctx context.Context, i int, st llm.Stream) {
	defer f.wg.Done()
	for {
		ch, err := st.Next()
		out := fanChunk{i: i}
		switch {
		case err != nil:
			out.err = err
		default:
			out.only = ch.UsageOnly
			if ch.Usage != nil {
				u := *ch.Usage
				out.usage = &u
			}
			if !ch.UsageOnly {
				if out.data, err = surfaceopenai.AppendChunkAs(nil, ch.Data, f.id, i); err != nil {
					out = fanChunk{i: i, err: err}
				}
			}
		}
		select {
		case f.chunks <- out:
		case <-ctx.Done():
			return
		}
		if out.err != nil {
			return
		}
	}
}

// Next returns the next chunk of any stream; after the last stream ends, one
// usage-only chunk with the summed usage (if any stream reported usage).
func (f *fanStream) Next() (llm.Chunk, error) {
	for f.live > 0 {
		ch := <-f.chunks
		if ch.err != nil {
			if errors.Is(ch.err, io.EOF) {
				f.live--
				continue
			}
			return llm.Chunk{}, ch.err
		}
		if ch.usage != nil {
			f.usages[ch.i] = ch.usage
		}
		if ch.only {
			continue
		}
		// The streams' own usages are summed into the last chunk.
		return llm.Chunk{Data: ch.data}, nil
	}
	var u llm.Usage
	saw := false
	for _, su := range f.usages {
		if su != nil {
			u, saw = u.Add(*su), true
		}
	}
	if f.done || !saw {
		return llm.Chunk{}, io.EOF
	}
	f.done = true
	data, err := json.Marshal(llm.ChunkResponse{ID: f.id, Object: "chat.completion.chunk", Created: f.created, Model: f.model, Choices: []llm.ChunkChoice{}, Usage: &u})
	if err != nil {
		return llm.Chunk{}, err
	}
	return llm.Chunk{Data: data, Usage: &u, UsageOnly: true}, nil
}

// Close stops every stream.
func (f *fanStream) Close() error {
	f.closed.Do(func() {
		f.cancel()
		for _, st := range f.streams {
			_ = st.Close()
		}
		f.wg.Wait()
	})
	return nil
}
