// Command blocker is an end-to-end test function (aws-lambda-go): given
// {"port": "P"} it calls GET /wait on port P of the host its Runtime API endpoint
// is on, and answers once the test releases that call, so that a test holds an
// invocation in flight for as long as it needs without timing anything. Without a
// port it answers at once.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Port string `json:"port"`
}

type result struct {
	Status string `json:"status"`
}

func handle(ctx context.Context, ev event) (result, error) {
	if ev.Port == "" {
		return result{Status: "ok"}, nil
	}
	host, _, err := net.SplitHostPort(os.Getenv("AWS_LAMBDA_RUNTIME_API"))
	if err != nil {
		return result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, ev.Port)+"/wait", nil)
	if err != nil {
		return result{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return result{}, fmt.Errorf("wait: %s: %s", resp.Status, body)
	}
	return result{Status: string(body)}, nil
}

func main() { lambda.Start(handle) }
