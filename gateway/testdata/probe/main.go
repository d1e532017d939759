// Command probe is a test function for the gateway's end-to-end tests: it answers
// with the exact event it received, or misbehaves on request. The query string (of
// a payload 1.0 or 2.0 event) says how. It answers with its version in
// X-Probe-Version and the trace Lambda gave it (_X_AMZN_TRACE_ID) in
// X-Probe-Trace.
//
//	?sleep=MS  sleep before answering
//	?bad=1     answer with a result that is not a proxy response
//	?fail=1    return a function error
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, raw json.RawMessage) (any, error) {
	var ev struct {
		Query map[string]string `json:"queryStringParameters"`
	}
	_ = json.Unmarshal(raw, &ev)
	if ms, err := strconv.Atoi(ev.Query["sleep"]); err == nil {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	if ev.Query["fail"] == "1" {
		return nil, errors.New("probe failed on request")
	}
	if ev.Query["bad"] == "1" {
		return map[string]any{"status": "not a proxy response"}, nil
	}
	return map[string]any{
		"statusCode": 200,
		"headers": map[string]string{"Content-Type": "application/json", "X-Probe-Version": os.Getenv("AWS_LAMBDA_FUNCTION_VERSION"),
			"X-Probe-Trace": os.Getenv("_X_AMZN_TRACE_ID")},
		"body": string(raw),
	}, nil
}

func main() { lambda.Start(handle) }
