// Command waitfn is a test function for the console's browser tests: invoked
// with {"until": PATH}, it answers only once the file PATH exists, so that a
// test sees an invocation in progress for as long as it needs to, without a
// clock.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, ev struct {
	Until string `json:"until"`
}) (string, error) {
	for ev.Until != "" {
		if _, err := os.Stat(ev.Until); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return "done", nil
}

func main() {
	lambda.Start(handle)
}
