// Command probe is a test function for the gateway's end-to-end tests: it answers
// with the exact event it received, or misbehaves on request. The query string (of
// a payload 1.0 or 2.0 event) says how. It answers with its version in
// X-Probe-Version and the trace Lambda gave it (_X_AMZN_TRACE_ID) in
// X-Probe-Trace.
//
//	?sleep=MS  sleep before answering
//	?bad=1     answer with a result that is not a proxy response
//	?fail=1    return a function error
//	?result=J  answer with the JSON J as it is
//
// A WebSocket message's body, when it is a JSON object, says the same with
// "sleep", "fail", and "big": N (a result whose body is N bytes, with
// statusCode "status", default 200).
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func handle(_ context.Context, raw json.RawMessage) (any, error) {
	var ev struct {
		Query map[string]string `json:"queryStringParameters"`
		Body  string            `json:"body"`
	}
	_ = json.Unmarshal(raw, &ev)
	var msg struct {
		Sleep  int  `json:"sleep"`
		Fail   bool `json:"fail"`
		Big    int  `json:"big"`
		Status int  `json:"status"`
	}
	if ev.Query == nil && json.Unmarshal([]byte(ev.Body), &msg) == nil {
		ev.Query = map[string]string{}
		if msg.Sleep > 0 {
			ev.Query["sleep"] = strconv.Itoa(msg.Sleep)
		}
		if msg.Fail {
			ev.Query["fail"] = "1"
		}
		if msg.Big > 0 {
			status := cmp.Or(msg.Status, 200)
			return map[string]any{"statusCode": status, "body": strings.Repeat("x", msg.Big)}, nil
		}
	}
	if ms, err := strconv.Atoi(ev.Query["sleep"]); err == nil {
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	if ev.Query["fail"] == "1" {
		return nil, errors.New("probe failed on request")
	}
	if r := ev.Query["result"]; r != "" {
		return json.RawMessage(r), nil
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
