package aliases_test

import (
	"testing"

	"github.com/portico-dev/portico/cmd/portico/app/apptest"
)

// TestMain removes the samples apptest built once the tests have run.
func TestMain(m *testing.M) { apptest.Main(m) }
