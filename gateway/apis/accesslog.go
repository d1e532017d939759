package apis

import (
	"context"

	"github.com/portico-dev/portico/store"
)

// SetAccessLogSettings replaces a stage's access-log settings (nil turns the
// log off) in one transaction. The caller validates the format and destination
// (gateway/accesslog.Validate): this package does not know $context.
func (s *Service) SetAccessLogSettings(ctx context.Context, apiID, name string, set *AccessLogSettings) (*Stage, error) {
	var st Stage
	err := s.st.Update(ctx, func(tx *store.Tx) error {
		if err := s.getStage(tx, apiID, name, &st); err != nil {
			return err
		}
		if set != nil && set.Format == "" && set.DestinationARN == "" {
			set = nil
		}
		st.AccessLogSettings = set
		st.UpdatedAt = s.now()
		return tx.Put(bucketStages, apiID+"/"+name, &st)
	})
	if err != nil {
		return nil, err
	}
	s.notify(apiID)
	return &st, nil
}
