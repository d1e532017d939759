package functions

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errdefs"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr bool
	}{
		{in: "fn", want: Ref{Name: "fn"}},
		{in: "my-Fn_1", want: Ref{Name: "my-Fn_1"}},
		{in: "fn:3", want: Ref{Name: "fn", Qualifier: "3"}},
		{in: "fn:alias", want: Ref{Name: "fn", Qualifier: "alias"}},
		{in: "fn:$LATEST", want: Ref{Name: "fn", Qualifier: Latest}},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:fn", want: Ref{Name: "fn"}},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:fn:7", want: Ref{Name: "fn", Qualifier: "7"}},
		{in: "arn:aws:lambda:eu-west-2:123456789012:function:fn:live", want: Ref{Name: "fn", Qualifier: "live"}},
		{in: "arn:aws-cn:lambda:cn-north-1:123456789012:function:fn", want: Ref{Name: "fn"}},
		{in: "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:fn:$LATEST", want: Ref{Name: "fn", Qualifier: Latest}},
		{in: "123456789012:function:fn", want: Ref{Name: "fn"}},
		{in: "123456789012:function:fn:2", want: Ref{Name: "fn", Qualifier: "2"}},
		{in: "123456789012:function:fn:prod", want: Ref{Name: "fn", Qualifier: "prod"}},

		{in: "", wantErr: true},
		{in: "fn:", wantErr: true},
		{in: ":3", wantErr: true},
		{in: "fn:3:4", wantErr: true},
		{in: "fn space", wantErr: true},
		{in: "fn:al.ias", wantErr: true},
		{in: strings.Repeat("a", 65), wantErr: true},
		{in: "fn:" + strings.Repeat("a", 129), wantErr: true},
		{in: strings.Repeat("a", 257), wantErr: true},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:fn:", wantErr: true},
		{in: "arn:aws:lambda:us-east-1:123456789012:function", wantErr: true},
		{in: "arn:aws:s3:us-east-1:123456789012:function:fn", wantErr: true},
		{in: "arn:aws:lambda:us-east-1:123456789012:layer:fn", wantErr: true},
		{in: "arn:aws:lambda:nowhere:123456789012:function:fn", wantErr: true},
		{in: "arn:aws:lambda:us-east-1:1234:function:fn", wantErr: true},
		{in: "arn:aws:lambda:us-east-1:123456789012:function:fn:1:2", wantErr: true},
		{in: "1234:function:fn", wantErr: true},
		{in: "123456789012:function:fn:", wantErr: true},
		{in: "123456789012:function:fn:1:2", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRef(tt.in)
			if tt.wantErr {
				if !errors.Is(err, errdefs.ErrInvalid) {
					t.Errorf("ParseRef(%q) = %+v, %v; want ErrInvalid", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRefWithQualifier(t *testing.T) {
	tests := []struct {
		ref     Ref
		q       string
		want    Ref
		wantErr bool
	}{
		{Ref{Name: "fn"}, "", Ref{Name: "fn"}, false},
		{Ref{Name: "fn"}, "3", Ref{Name: "fn", Qualifier: "3"}, false},
		{Ref{Name: "fn", Qualifier: "3"}, "3", Ref{Name: "fn", Qualifier: "3"}, false},
		{Ref{Name: "fn", Qualifier: "3"}, "4", Ref{}, true},
		{Ref{Name: "fn"}, "bad.q", Ref{}, true},
	}
	for _, tt := range tests {
		got, err := tt.ref.WithQualifier(tt.q)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%+v.WithQualifier(%q) = %+v, %v", tt.ref, tt.q, got, err)
		}
	}
}

func TestValidAliasName(t *testing.T) {
	for s, want := range map[string]bool{
		"live": true, "v1": true, "_x": true, "-x": true, "1a": false, "123": false,
		"$LATEST": false, "": false, "a.b": false, strings.Repeat("a", 128): true, strings.Repeat("a", 129): false,
	} {
		if got := ValidAliasName(s); got != want {
			t.Errorf("ValidAliasName(%q) = %v, want %v", s, got, want)
		}
	}
}

// The byte loops behind ValidName, ValidAliasName and ValidQualifier accept
// exactly the documented patterns.
var (
	namePattern    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	versionPattern = regexp.MustCompile(`^[0-9]{1,10}$`)
	aliasPattern   = regexp.MustCompile(`^[A-Za-z_-][A-Za-z0-9_-]{0,127}$`)
)

func checkNamePatterns(t *testing.T, s string) {
	t.Helper()
	if got, want := ValidName(s), namePattern.MatchString(s); got != want {
		t.Errorf("ValidName(%q) = %v, want %v", s, got, want)
	}
	if got, want := ValidAliasName(s), aliasPattern.MatchString(s); got != want {
		t.Errorf("ValidAliasName(%q) = %v, want %v", s, got, want)
	}
	if got, want := ValidQualifier(s), s == Latest || versionPattern.MatchString(s) || aliasPattern.MatchString(s); got != want {
		t.Errorf("ValidQualifier(%q) = %v, want %v", s, got, want)
	}
	if got, want := (Ref{Name: "f", Qualifier: s}).IsVersion(), s == "" || s == Latest || versionPattern.MatchString(s); got != want {
		t.Errorf("IsVersion(%q) = %v, want %v", s, got, want)
	}
}

func TestNameChecksMatchPatterns(t *testing.T) {
	for _, s := range []string{
		"", "a", "A", "z", "Z", "0", "9", "_", "-", "$LATEST", "$latest", "1", "0123456789", "01234567890",
		"a.b", "a b", "a:b", "a/b", "é", "a\x00", "1a", "a1", "-1", "_1",
		strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("b", 128), strings.Repeat("b", 129),
		"@", "[", "`", "{", "/", ":",
	} {
		checkNamePatterns(t, s)
	}
	// Every single byte, alone and after a letter.
	for c := 0; c < 256; c++ {
		checkNamePatterns(t, string([]byte{byte(c)}))
		checkNamePatterns(t, "a"+string([]byte{byte(c)}))
	}
}

func FuzzNameChecks(f *testing.F) {
	for _, s := range []string{"fn", "1", "$LATEST", "live", "a-b_c", "x.y"} {
		f.Add(s)
	}
	f.Fuzz(checkNamePatterns)
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"fn", "fn:3", "fn:alias", "fn:$LATEST", "fn:",
		"arn:aws:lambda:us-east-1:123456789012:function:fn",
		"arn:aws:lambda:us-east-1:123456789012:function:fn:live",
		"123456789012:function:fn:2", "::", "arn:", "a:function:b:c:d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRef(s)
		if err != nil {
			if !errors.Is(err, errdefs.ErrInvalid) {
				t.Fatalf("ParseRef(%q) error %v is not ErrInvalid", s, err)
			}
			return
		}
		if !ValidName(r.Name) || (r.Qualifier != "" && !ValidQualifier(r.Qualifier)) {
			t.Fatalf("ParseRef(%q) = %+v: invalid parts accepted", s, r)
		}
		// The plain form round-trips.
		again, err := ParseRef(r.String())
		if err != nil || again != r {
			t.Fatalf("ParseRef(%q) = %+v; reparsed %q = %+v, %v", s, r, r.String(), again, err)
		}
		// So does the full ARN.
		arn, err := ParseRef(ARN(r.Name, r.Qualifier))
		if err != nil || arn != r {
			t.Fatalf("ParseRef(ARN %q) = %+v, %v; want %+v", ARN(r.Name, r.Qualifier), arn, err, r)
		}
	})
}

func TestParseLocalRef(t *testing.T) {
	for in, want := range map[string]error{
		"fn":                       nil,
		"fn:3":                     nil,
		ARN("fn", "live"):          nil,
		AccountID + ":function:fn": nil,
		"arn:aws:lambda:eu-west-1:" + AccountID + ":function:fn":              errdefs.ErrInvalid,
		"arn:aws-cn:lambda:" + Region + ":" + AccountID + ":function:fn":      errdefs.ErrInvalid,
		"arn:aws-us-gov:lambda:us-gov-west-1:" + AccountID + ":function:fn:1": errdefs.ErrInvalid,
		"arn:aws:lambda:" + Region + ":999999999999:function:fn":              errdefs.ErrForbidden,
		"999999999999:function:fn:2":                                          errdefs.ErrForbidden,
		"fn space":                                                            errdefs.ErrInvalid,
	} {
		_, err := ParseLocalRef(in)
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Errorf("ParseLocalRef(%q) = %v, want %v", in, err, want)
		}
	}
}

// TestARNOneAllocation: an invocation's ARN (the Runtime API's
// Lambda-Runtime-Invoked-Function-Arn) is built in one allocation, qualified
// or not.
func TestARNOneAllocation(t *testing.T) {
	name, q := "hello", "live"
	if got, want := ARN(name, q), "arn:aws:lambda:us-east-1:000000000000:function:hello:live"; got != want {
		t.Fatalf("ARN = %q, want %q", got, want)
	}
	if got, want := ARN(name, ""), "arn:aws:lambda:us-east-1:000000000000:function:hello"; got != want {
		t.Fatalf("ARN = %q, want %q", got, want)
	}
	for _, q := range []string{"", "live"} {
		if n := testing.AllocsPerRun(100, func() { _ = ARN(name, q) }); n != 1 {
			t.Errorf("ARN(%q, %q): %v allocations", name, q, n)
		}
	}
}

// TestParseLocalRefFormsThePatternAdmits: "function:f1" is function f1, as
// Lambda's pattern reads it (its optional "function:" group), not alias f1
// of a function "function"; REGION:ACCOUNT:function:NAME, which the pattern
// admits, is refused as a form Portico does not take
// (InvalidParameterValueException naming the forms it takes), not as a
// pattern violation the reader can see it is not.
func TestParseLocalRefFormsThePatternAdmits(t *testing.T) {
	for in, want := range map[string]Ref{
		"function:f1":      {Name: "f1"},
		"function:f1:live": {Name: "f1", Qualifier: "live"},
		"function:f1:7":    {Name: "f1", Qualifier: "7"},
	} {
		got, err := ParseLocalRef(in)
		if err != nil || got != want {
			t.Errorf("ParseLocalRef(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	_, err := ParseLocalRef("us-east-1:000000000000:function:f1")
	var k *errdefs.Kinded
	if !errors.As(err, &k) || k.Type != "InvalidParameterValueException" || strings.Contains(err.Error(), "failed to satisfy") ||
		!strings.Contains(err.Error(), "Portico takes NAME, NAME:QUALIFIER, ACCOUNT:function:NAME[:QUALIFIER]") {
		t.Errorf("ParseLocalRef(REGION:ACCOUNT:function:NAME) = %v, want InvalidParameterValueException naming the forms taken", err)
	}
	// What the pattern does not admit stays its violation.
	if _, err := ParseLocalRef("a:b:c:d:e"); err == nil || !strings.Contains(err.Error(), "at 'functionName' failed to satisfy constraint") {
		t.Errorf("ParseLocalRef(a:b:c:d:e) = %v, want the pattern's violation", err)
	}
}
