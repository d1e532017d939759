// Package chat holds what the chat sample's functions share: the room's member
// list, kept as one empty file per connection id in the function's mounted volume
// (/mnt/chat, Lambda's FileSystemConfigs), and the @connections client built the
// way AWS's samples build it, from the event's domainName and stage.
//
// Each stage of each WebSocket API is a room of its own
// (/mnt/chat/API_ID/STAGE/connections): two deployments of the sample that mount
// the same volume, such as `make run`'s chat and the SAM template's, neither see
// nor remove each other's members (a connection of another API answers 410 Gone
// at this API's @connections endpoint).
package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
)

// Dir is where the member list lives: the volume mounted at /mnt/chat, or
// $CHAT_DIR when set.
func Dir() string {
	if d := os.Getenv("CHAT_DIR"); d != "" {
		return d
	}
	return "/mnt/chat"
}

// A Room is the member list of one stage of one WebSocket API.
type Room struct{ dir string }

// RoomOf returns the room of the event's API and stage
// (requestContext.apiId and requestContext.stage).
func RoomOf(apiID, stage string) (Room, error) {
	if !validID(apiID) || !validID(stage) {
		return Room{}, fmt.Errorf("api id %q and stage %q must be valid file names", apiID, stage)
	}
	return Room{dir: filepath.Join(Dir(), apiID, stage, "connections")}, nil
}

// validID keeps connection ids (and API ids and stage names) usable as file
// names.
func validID(id string) bool {
	if id == "" || len(id) > 128 || strings.Contains(id, "..") {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '=':
		default:
			return false
		}
	}
	return true
}

// wrappedSuffix marks the file of a member that gets its messages wrapped.
const wrappedSuffix = ".json"

// A Member is a connection in the room.
type Member struct {
	ID string
	// Wrapped says that the member asked (format=json in its $connect query)
	// for the messages of other members wrapped, as {"type":"message","data":
	// DATA}: the chat page does, so that no member can make its message look
	// like one of the gateway's error frames.
	Wrapped bool
}

// Join adds a connection to the room; wrapped is Member.Wrapped.
func (r Room) Join(id string, wrapped bool) error {
	if !validID(id) {
		return fmt.Errorf("connection id %q is not a valid file name", id)
	}
	if err := os.MkdirAll(r.dir, 0o750); err != nil {
		return err
	}
	name := id
	if wrapped {
		name += wrappedSuffix
	}
	return os.WriteFile(filepath.Join(r.dir, name), nil, 0o600)
}

// Leave removes a connection from the room; leaving twice is fine.
func (r Room) Leave(id string) error {
	if !validID(id) {
		return nil
	}
	for _, name := range []string{id, id + wrappedSuffix} {
		if err := os.Remove(filepath.Join(r.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Members lists the room's members.
func (r Room) Members() ([]Member, error) {
	entries, err := os.ReadDir(r.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	members := make([]Member, 0, len(entries))
	for _, e := range entries {
		id, wrapped := strings.CutSuffix(e.Name(), wrappedSuffix)
		if validID(id) {
			members = append(members, Member{ID: id, Wrapped: wrapped})
		}
	}
	return members, nil
}

// Wrap wraps a member's message data (JSON) for a wrapped member.
func Wrap(data json.RawMessage) []byte {
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	b, _ := json.Marshal(struct { // a string and valid JSON always marshal
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}{"message", data})
	return b
}

var (
	clientsMu sync.Mutex
	clients   = map[string]*apigatewaymanagementapi.Client{}
)

// Client returns an @connections client for the event's domainName and stage,
// "https://" + domainName + "/" + stage, as AWS's samples build it: Portico's
// sandbox-facing endpoint answers HTTPS with a certificate the sandbox trusts
// (SSL_CERT_FILE). The credentials and region come from the sandbox's
// environment.
func Client(ctx context.Context, domainName, stage string) (*apigatewaymanagementapi.Client, error) {
	endpoint := "https://" + domainName + "/" + stage
	clientsMu.Lock()
	defer clientsMu.Unlock()
	if c := clients[endpoint]; c != nil {
		return c, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	c := apigatewaymanagementapi.NewFromConfig(cfg, func(o *apigatewaymanagementapi.Options) {
		o.BaseEndpoint = aws.String(endpoint)
	})
	clients[endpoint] = c
	return c, nil
}
