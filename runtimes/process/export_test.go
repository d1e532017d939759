package process

import "context"

// UseUserNamespace makes r give sandboxes with volumes their private mounts
// inside a user namespace, as it does for a user other than root (for root
// it would make the mount namespace directly), and reports whether the host
// allows that, and if not, why. Call it before r's first start with volumes.
func (r *Runtime) UseUserNamespace(ctx context.Context) (bool, string) {
	ok, why := probePrivateMounts(ctx, true)
	r.vols.probe.Do(func() { r.vols.private, r.vols.userns, r.vols.why = ok, ok, why })
	return ok, why
}
