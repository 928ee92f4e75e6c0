// Package awshttp adapts the HTTP client the AWS SDK clients use.
package awshttp

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// Guard works around a race between the SDK and net/http
// (aws/aws-sdk-go-v2#2737): the SDK closes a request body as soon as the
// response arrives, while the transport's writer may still be checking the
// body for bytes past its Content-Length. The SDK's closed body answers
// WriteTo with io.EOF, which the transport takes for a failed write, and it
// closes the connection under the response being read ("use of closed network
// connection"). Behind a body without WriteTo, the transport reads instead,
// gets io.EOF, and takes it for the end of the body. Every SDK client of the
// router uses it: Bedrock, DynamoDB, Secrets Manager, CloudWatch.
func Guard(c aws.HTTPClient) aws.HTTPClient { return guarded{c} }

type guarded struct{ c aws.HTTPClient }

// Do sends r with its body reduced to Read and Close.
func (g guarded) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = readCloser{r.Body}
	}
	return g.c.Do(r)
}

// readCloser hides every method of a body but Read and Close.
type readCloser struct{ io.ReadCloser }

// Config is the AWS configuration of every router binary and script: given,
// when a test points it at moto, else the SDK's default chain (environment,
// including AWS_ENDPOINT_URL; on Lambda, the function role). Its HTTP client
// is guarded (see Guard), wrapped after loading so the credential providers
// keep the SDK's own client.
func Config(ctx context.Context, given *aws.Config) (aws.Config, error) {
	var cfg aws.Config
	if given != nil {
		cfg = *given
	} else {
		var err error
		if cfg, err = awsconfig.LoadDefaultConfig(ctx); err != nil {
			return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
		}
	}
	if cfg.HTTPClient != nil {
		cfg.HTTPClient = Guard(cfg.HTTPClient)
	}
	return cfg, nil
}
