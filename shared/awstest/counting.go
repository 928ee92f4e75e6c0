package awstest

import (
	"net/http"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// CountingClient is an aws.HTTPClient that counts the requests it sends, to
// prove how many AWS calls a code path makes.
type CountingClient struct {
	// Base sends the requests; nil means a plain http.Client.
	Base aws.HTTPClient
	n    atomic.Int64
}

var _ aws.HTTPClient = (*CountingClient)(nil)

// Do counts and sends one request.
func (c *CountingClient) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	if c.Base == nil {
		return http.DefaultClient.Do(r)
	}
	return c.Base.Do(r)
}

// Count is the number of requests sent so far.
func (c *CountingClient) Count() int64 { return c.n.Load() }
