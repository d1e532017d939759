package apis

import (
	"context"

	"github.com/portico-dev/portico/store"
)

// SetAccessLogSettings replaces a stage's access-log settings (nil turns the
// log off) in one transaction. The caller validates the format and destination
// (gateway/accesslog.Validate): this package does not know $context.
func (s *Service) SetAccessLogSettings(ctx context.Context, apiID, name string, set *AccessLogSettings) (*Stage, error) {
	return s.updateStage(ctx, apiID, name, true, func(_ *store.Tx, st *Stage) error {
		if set != nil && set.Format == "" && set.DestinationARN == "" {
			set = nil
		}
		st.AccessLogSettings = set
		st.UpdatedAt = s.now()
		return nil
	})
}
