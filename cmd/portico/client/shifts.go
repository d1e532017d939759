package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// ShiftHooks name the functions a traffic shift runs before and after it moves
// traffic.
type ShiftHooks struct {
	PreTraffic  string `json:"PreTraffic,omitempty"`
	PostTraffic string `json:"PostTraffic,omitempty"`
}

// Shift is a traffic shift of an alias, as the admin API answers it.
type Shift struct {
	DeploymentID     string     `json:"DeploymentId"`
	FunctionName     string     `json:"FunctionName"`
	Alias            string     `json:"Alias"`
	FromVersion      string     `json:"FromVersion"`
	ToVersion        string     `json:"ToVersion"`
	DeploymentType   string     `json:"DeploymentType"`
	Status           string     `json:"Status"`
	Phase            string     `json:"Phase"`
	Step             int        `json:"Step"`
	Steps            int        `json:"Steps"`
	Weight           float64    `json:"Weight"`
	NextStepAt       *time.Time `json:"NextStepAt"`
	TrafficStartedAt *time.Time `json:"TrafficStartedAt"`
	Hooks            ShiftHooks `json:"Hooks"`
	HookExecution    *struct {
		ID       string    `json:"LifecycleEventHookExecutionId"`
		Hook     string    `json:"Hook"`
		Function string    `json:"Function"`
		Deadline time.Time `json:"Deadline"`
	} `json:"HookExecution"`
	EndedAt *time.Time `json:"EndedAt"`
	Reason  string     `json:"Reason"`
}

// Ended reports whether the shift has ended (succeeded, failed or stopped).
func (s *Shift) Ended() bool { return s.Status != "InProgress" }

// ShiftInput starts a traffic shift.
type ShiftInput struct {
	ToVersion      string     `json:"ToVersion"`
	DeploymentType string     `json:"DeploymentType"`
	Hooks          ShiftHooks `json:"Hooks"`
}

func shiftPath(fn, alias string) string {
	return "/portico/v1/functions/" + url.PathEscape(fn) + "/aliases/" + url.PathEscape(alias) + "/shift"
}

func decodeShift(resp *Response) (*Shift, *Response, error) {
	var s Shift
	if err := json.Unmarshal(resp.Body, &s); err != nil {
		return nil, nil, fmt.Errorf("decoding the traffic shift: %w", err)
	}
	return &s, resp, nil
}

// StartShift starts shifting alias of fn to in.ToVersion.
func (c *Client) StartShift(ctx context.Context, fn, alias string, in ShiftInput) (*Shift, *Response, error) {
	resp, err := c.Do(ctx, http.MethodPost, shiftPath(fn, alias), nil, in, nil)
	if err != nil {
		return nil, nil, err
	}
	return decodeShift(resp)
}

// GetShift returns the latest traffic shift of alias of fn.
func (c *Client) GetShift(ctx context.Context, fn, alias string) (*Shift, *Response, error) {
	resp, err := c.Do(ctx, http.MethodGet, shiftPath(fn, alias), nil, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	return decodeShift(resp)
}

// StopShift stops the traffic shift of alias of fn in progress, rolling the
// alias back to its old version.
func (c *Client) StopShift(ctx context.Context, fn, alias string) (*Shift, *Response, error) {
	resp, err := c.Do(ctx, http.MethodDelete, shiftPath(fn, alias), nil, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	return decodeShift(resp)
}
