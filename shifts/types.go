package shifts

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/errdefs"
)

// Type is a deployment configuration: how a shift moves an alias's traffic to
// the new version, as CodeDeploy's predefined Lambda configurations
// (CodeDeployDefault.Lambda...) and SAM's DeploymentPreference Type name them.
type Type struct {
	// Name is SAM's name of the type, e.g. "Canary10Percent5Minutes".
	Name string
	// Weights are the new version's shares of the calls, step by step; the
	// last is 1 (the alias moves to the new version and its weights go).
	Weights []float64
	// Interval is the time between two steps (zero for AllAtOnce).
	Interval time.Duration
}

// types are the deployment configurations SAM and CodeDeploy predefine for
// Lambda.
var types = func() map[string]Type {
	out := map[string]Type{"AllAtOnce": {Name: "AllAtOnce", Weights: []float64{1}}}
	for _, m := range []int{5, 10, 15, 30} {
		n := fmt.Sprintf("Canary10Percent%dMinutes", m)
		out[n] = Type{Name: n, Weights: []float64{0.1, 1}, Interval: time.Duration(m) * time.Minute}
	}
	for _, m := range []int{1, 2, 3, 10} {
		n := fmt.Sprintf("Linear10PercentEvery%dMinute", m)
		if m > 1 {
			n += "s"
		}
		w := make([]float64, 10)
		for i := range w {
			w[i] = float64(i+1) / 10
		}
		out[n] = Type{Name: n, Weights: w, Interval: time.Duration(m) * time.Minute}
	}
	return out
}()

// TypeNames returns the names of the deployment types, sorted.
func TypeNames() []string {
	names := make([]string, 0, len(types))
	for n := range types {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// LookupType returns the deployment type of that name. CodeDeploy's names
// ("CodeDeployDefault.LambdaCanary10Percent5Minutes") are accepted too; any
// other name is errdefs.ErrInvalid, listing the valid ones.
func LookupType(name string) (Type, error) {
	n := strings.TrimPrefix(name, "CodeDeployDefault.Lambda")
	if t, ok := types[n]; ok {
		return t, nil
	}
	return Type{}, invalidf("Deployment type %q is not one Portico knows: use one of %s", name, strings.Join(TypeNames(), ", "))
}

// Duration is how long the traffic steps of t take, from the first to the
// last.
func (t Type) Duration() time.Duration { return time.Duration(len(t.Weights)-1) * t.Interval }

func invalidf(format string, args ...any) error {
	return errdefs.New(errdefs.ErrInvalid, "InvalidParameterValueException", fmt.Sprintf(format, args...))
}
