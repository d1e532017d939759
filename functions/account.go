package functions

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/portico-dev/portico/store"
)

// AccountUsage is what the functions of the account use, as Lambda's
// GetAccountSettings reports it.
type AccountUsage struct {
	// Functions is the number of functions.
	Functions int
	// CodeSize is the bytes of Zip packages stored: each distinct package once,
	// as Portico stores code by content, whether $LATEST or versions use it.
	// Image packages are not counted, as Lambda does not count them.
	CodeSize int64
	// Reserved is the sum of the functions' reserved concurrency.
	Reserved int
}

// Usage returns what the functions of the account use.
func (s *Service) Usage(ctx context.Context) (AccountUsage, error) {
	var u AccountUsage
	seen := map[string]bool{}
	count := func(r *record) {
		if r.PackageType == PackageZip && r.Hash != "" && !seen[r.Hash] {
			seen[r.Hash] = true
			u.CodeSize += r.CodeSize
		}
	}
	err := s.st.View(ctx, func(tx *store.Tx) error {
		err := tx.ForEach(bucketFunctions, "", func(key string, raw []byte) error {
			var r record
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("function %q: decode: %w", key, err)
			}
			u.Functions++
			if r.ReservedConcurrency != nil {
				u.Reserved += *r.ReservedConcurrency
			}
			count(&r)
			return nil
		})
		if err != nil {
			return err
		}
		return tx.ForEach(bucketVersions, "", func(key string, raw []byte) error {
			var r record
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("version %q: decode: %w", key, err)
			}
			count(&r)
			return nil
		})
	})
	return u, err
}

// Reservations returns the reserved concurrency of every function that has
// one, by name (a reservation of 0 included).
func (s *Service) Reservations(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	err := s.st.View(ctx, func(tx *store.Tx) error {
		return tx.ForEach(bucketFunctions, "", func(key string, raw []byte) error {
			var r struct {
				Reserved *int `json:"ReservedConcurrentExecutions"`
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				// A damaged record must not stop the invoker's start (and
				// the server's): the function gets no reservation, its own
				// reads answer naming the record, and the others run.
				s.log.Error("function record does not decode; it has no reserved concurrency until it is deleted or the store restored from a backup",
					"record", bucketFunctions+"/"+key, "err", err)
				return nil
			}
			if r.Reserved != nil {
				out[key] = *r.Reserved
			}
			return nil
		})
	})
	return out, err
}

// ReservationCheck refuses reserved concurrency that the account cannot hold
// (the invoker's account concurrency less its minimum unreserved share): it
// gets the sum of every function's reservation as it would be after a change
// and returns an ErrInvalid error to refuse it. It must not do I/O: it runs
// inside the change's transaction.
type ReservationCheck func(total int) error

// SetReservationCheck installs the check SetReservedConcurrency runs before it
// raises a reservation. cmd/portico installs the invoker's.
func (s *Service) SetReservationCheck(f ReservationCheck) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resCheck = f
}

// reservedTotal is the sum of the reservations of every function but except.
func reservedTotal(tx *store.Tx, except string) (int, error) {
	total := 0
	err := tx.ForEach(bucketFunctions, "", func(key string, raw []byte) error {
		if key == except {
			return nil
		}
		var r struct {
			Reserved *int `json:"ReservedConcurrentExecutions"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("function %q: decode: %w", key, err)
		}
		if r.Reserved != nil {
			total += *r.Reserved
		}
		return nil
	})
	return total, err
}

// provisionedTotal is the sum of the provisioned concurrency of name's
// versions and aliases but except.
func provisionedTotal(tx *store.Tx, name, except string) (int, error) {
	total := 0
	err := tx.ForEach(bucketProvisioned, name+"\x00", func(key string, raw []byte) error {
		if key == name+"\x00"+except {
			return nil
		}
		var pc ProvisionedConfig
		if err := json.Unmarshal(raw, &pc); err != nil {
			return fmt.Errorf("provisioned %q: decode: %w", key, err)
		}
		total += pc.Requested
		return nil
	})
	return total, err
}
