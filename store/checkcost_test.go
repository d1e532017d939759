package store

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCheckCost measures Open's check on a store of CHECK_COST_MB megabytes
// (skipped unless set): for docs/operations.md.
func TestCheckCost(t *testing.T) {
	mb, _ := strconv.Atoi(os.Getenv("CHECK_COST_MB"))
	if mb == 0 {
		t.Skip("set CHECK_COST_MB to measure")
	}
	dir := t.TempDir()
	s := open(t, dir)
	val := doc{Name: strings.Repeat("x", 2000)}
	for i := 0; i < mb*1024/2; i += 1000 {
		if err := s.Update(context.Background(), func(tx *Tx) error {
			for j := i; j < i+1000; j++ {
				if err := tx.Put(fmt.Sprintf("b%d", j%8), fmt.Sprintf("key%09d", j), val); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.Close()
	fi, _ := os.Stat(dir + "/" + fileName)
	for range 2 {
		t0 := time.Now()
		s := open(t, dir)
		t.Logf("file %d MB: Open (with the check) %s", fi.Size()>>20, time.Since(t0))
		_ = s.Close()
	}
}
