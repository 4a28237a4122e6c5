package cost

import "testing"

// The API's decimal strings become exact millionths, rounded half away from zero; amounts
// print rounded to cents.
func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		in    string
		want  Money
		cents string
	}{
		{"5.4900000000", 5_490_000, "5.49"},
		{"1.1900000000000000", 1_190_000, "1.19"},
		{"0.0523600000", 52_360, "0.05"},
		{"0.0000005", 1, "0.00"},
		{"0.0000004999", 0, "0.00"},
		{"-0.0000005", -1, "0.00"},
		{"0.005", 5_000, "0.01"},
		{"-2.345", -2_345_000, "-2.35"},
	} {
		got, err := parseMoney(tc.in)
		if err != nil || got != tc.want || got.String() != tc.cents {
			t.Errorf("%q: %d (%s), %v; want %d (%s)", tc.in, got, got, err, tc.want, tc.cents)
		}
	}
	for _, bad := range []string{"", "abc", "1e30"} {
		if _, err := parseMoney(bad); err == nil {
			t.Errorf("%q was taken as a price", bad)
		}
	}
}
