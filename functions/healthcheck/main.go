// Command healthcheck is the health-check Lambda (issue 5). This is a
// placeholder so `make build` and `sam build` produce its bootstrap: it
// accepts the EventBridge schedule's events and probes nothing yet.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	lambda.Start(func(ctx context.Context, ev events.EventBridgeEvent) error {
		log.WarnContext(ctx, "health check is not implemented yet (issue 5); nothing probed", "event_id", ev.ID)
		return nil
	})
}
