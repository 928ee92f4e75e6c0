// Package trace is the small tracing vocabulary the router's request path
// speaks: a span per request, per routing decision and per attempt. The
// X-Ray emitter implements it on Lambda; nil means no tracing, and costs one
// nil check.
package trace

import "context"

// Tracer starts spans.
type Tracer interface {
	// Start begins a span named name as a child of the span in ctx, if any,
	// and returns a context carrying the new span.
	Start(ctx context.Context, name string) (context.Context, Span)
}

// Span is one timed piece of work.
type Span interface {
	// Annotate attaches an indexed key and value (never prompt text or a key).
	Annotate(key, value string)
	// End closes the span; a non-nil err marks it as failed.
	End(err error)
}
