package detect

import (
	"bytes"
	"strings"
	"testing"
)

type matchCase struct {
	text string
	want bool
}

// checkDetector runs cases against a Set of the one built-in detector.
func checkDetector(t *testing.T, name string, cases []matchCase) {
	t.Helper()
	s, err := Compile([]string{name}, nil)
	if err != nil {
		t.Fatal(err)
	}
	matches, misses := 0, 0
	for _, tt := range cases {
		if tt.want {
			matches++
		} else {
			misses++
		}
		t.Run(tt.text, func(t *testing.T) {
			got, ok := s.Match(tt.text)
			if ok != tt.want || (ok && got != name) {
				t.Errorf("Match(%q) = %q, %v; want match %v", tt.text, got, ok, tt.want)
			}
		})
	}
	if matches < 8 || misses < 8 {
		t.Errorf("%s has %d matches and %d near misses; want at least 8 of each", name, matches, misses)
	}
}

func TestSSN(t *testing.T) {
	checkDetector(t, SSN, []matchCase{
		{"123-45-6789", true},
		{"SSN 123-45-6789", true},
		{"ssn: 123 45 6789", true},
		{"patient (SSN 078-05-1120) seen today", true},
		{"number on file is 123-45-6789.", true},
		{"id=123-45-6789;", true},
		{"SSN:899-99-9999\n", true},
		{"first line\n665-01-0001 second line", true},
		{"123-45-678", false},   // too short
		{"123-45-67890", false}, // too long
		{"000-12-3456", false},  // area 000
		{"666-12-3456", false},  // area 666
		{"900-12-3456", false},  // areas 9xx
		{"987-65-4321", false},  // areas 9xx
		{"123-00-4567", false},  // group 00
		{"123-45-0000", false},  // serial 0000
		{"12345-6789", false},   // ZIP+4
		{"123456789", false},    // no separators
		{"123-45 6789", false},  // mixed separators
		{"ISBN 978-123-45-6789", false},
		{"A123-45-6789", false},    // inside a code
		{"123-45-6789-01", false},  // a longer number
		{"version 1.2.3.4", false}, // digits and dots
		{"Order #12345678", false}, // an order number
		{"", false},
	})
}

func TestPhone(t *testing.T) {
	checkDetector(t, Phone, []matchCase{
		{"(555) 123-4567", true},
		{"555-123-4567", true},
		{"+1 555 123 4567", true},
		{"555.123.4567", true},
		{"call 555 123 4567 today", true},
		{"(555)123-4567", true},
		{"1-800-555-0199", true},
		{"+1 (555) 123-4567", true},
		{"1 (212) 555-0100", true},
		{"+44 20 7183 8750", true},
		{"+442071838750", true},
		{"tel:+33 1 42 68 53 00", true},
		{"reach me at 555-123-4567.", true},
		{"5551234567", false},        // bare digits
		{"Order 5551234567", false},  // bare digits
		{"555-123-456", false},       // too short
		{"555-1234-567", false},      // wrong grouping
		{"555-123-45678", false},     // too long
		{"555-123-4567-89", false},   // a longer number
		{"123-456-7890", false},      // area codes never start with 1
		{"055-123-4567", false},      // nor with 0
		{"555/123/4567", false},      // not a phone separator
		{"version 1.2.3.4", false},   // digits and dots
		{"192.168.100.200", false},   // an IP address
		{"+1234567", false},          // 7 digits
		{"+1234567890123456", false}, // 16 digits
		{"+0 123 456 789", false},    // no country code starts with 0
		{"x+12345678", false},        // a formula
		{"BP 128/82, HR 76", false},  // vitals
	})
}

func TestEmail(t *testing.T) {
	checkDetector(t, Email, []matchCase{
		{"john.doe@example.com", true},
		{"a@b.co", true},
		{"first+tag@sub.domain.org", true},
		{"x_y%z@mail-server.example.io", true},
		{"Contact: JOHN@EXAMPLE.COM.", true},
		{"<me@example.com>", true},
		{"mailto:me@host.example", true},
		{"a-b@c-d.museum", true},
		{"a@b", false},                   // no dot in the domain
		{"user@localhost", false},        // no dot in the domain
		{"@example.com", false},          // no local part
		{"foo@.com", false},              // empty label
		{"a@b.c", false},                 // one-letter top-level domain
		{"x@1.23", false},                // numeric top-level domain
		{"email@123.456.789.012", false}, // an IP, not a domain
		{"a.@b.com", false},              // local part ends with a dot
		{"joe@@example.com", false},      // two @
		{"name at example dot com", false},
		{"meet @ 5.30 pm", false},
		{"user@-example.com", false},
		{"a@b..com", false},
		{"+@example.com", false}, // no letter or digit in the local part
	})
}

func TestDOB(t *testing.T) {
	checkDetector(t, DOB, []matchCase{
		{"DOB: 01/02/1980", true},
		{"dob 1/2/80", true},
		{"D.O.B. 1980-03-01", true},
		{"Date of birth: March 3, 1980", true},
		{"born on 3 March 1980", true},
		{"Birthdate 03-Mar-1980", true},
		{"01/02/1980 (DOB)", true},
		{"her birthday is Mar. 3rd, 1980", true},
		{"Born 12.31.1999 in Ohio", true},
		{"DOB 31/12/1999", true},
		{"born the 3rd of March, 1980", true},
		{"Admitted 01/02/2024 for pneumonia", false},                           // no keyword
		{"DOB: unknown", false},                                                // no date
		{"born in 1980", false},                                                // a year alone
		{"Adobe 01/02/1980", false},                                            // dob inside a word
		{"stubborn since 01/02/2020", false},                                   // born inside a word
		{"DOB 13/32/1980", false},                                              // not a date
		{"DOB 02/30/1980", false},                                              // not a date
		{"Birth weight 3.2 kg", false},                                         // no date
		{"DOB:" + strings.Repeat(" ", 60) + "01/02/1980", false},               // too far
		{"date of birth 1/2/3", false},                                         // no year
		{"born 2/3", false},                                                    // no year
		{"DOB 1/2/1700", false},                                                // implausible year
		{"01/02/1980 was a Tuesday." + strings.Repeat(" ", 30) + "DOB", false}, // too far before
	})
}

func TestMRN(t *testing.T) {
	checkDetector(t, MRN, []matchCase{
		{"MRN 1234567", true},
		{"MRN: 00123456", true},
		{"mrn#12345", true},
		{"MRN-123456789012", true},
		{"Medical record number: 7654321", true},
		{"medical record #: 9876543", true},
		{"MRN no. 1234567", true},
		{"(MRN 1234567)", true},
		{"MRN", false},
		{"MRN 1234", false},               // too short
		{"MRN 1234567890123", false},      // too long
		{"Order 12345678", false},         // no keyword
		{"mRNA lot 1234567", false},       // not the word MRN
		{"MRN A12345", false},             // letters (configure a pattern)
		{"medical records 123456", false}, // not the phrase
		{"MRN 12345678X", false},          // runs into letters
		{"Invoice 555123", false},
		{"the MRN is pending; 1234567 units", false},
	})
}

func TestBuiltinsListed(t *testing.T) {
	got := Builtins()
	want := []string{SSN, Phone, Email, DOB, MRN}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Builtins() = %v, want %v", got, want)
	}
	got[0] = "changed"
	if Builtins()[0] != SSN {
		t.Error("Builtins returned the package's own slice")
	}
	for _, name := range want {
		if !IsBuiltin(name) {
			t.Errorf("IsBuiltin(%q) = false", name)
		}
	}
	if IsBuiltin("patient_id") {
		t.Error(`IsBuiltin("patient_id") = true`)
	}
}

// The scan jumps from digit to digit with digitMask, so it must mark
// exactly the digits, whatever the other bytes are.
func TestDigitMask(t *testing.T) {
	naive := func(w string, i int) uint64 {
		var m uint64
		for k := 0; k < 8 && i+k < len(w); k++ {
			if c := w[i+k]; '0' <= c && c <= '9' {
				m |= 0x80 << (8 * k)
			}
		}
		return m
	}
	check := func(w string, i int) {
		t.Helper()
		var x uint64
		if i+8 <= len(w) {
			x = word(w, i)
		} else {
			x = tailWord(w, i)
		}
		if got, want := digitMask(x), naive(w, i); got != want {
			t.Fatalf("digitMask at %d of %q = %#016x, want %#016x", i, w, got, want)
		}
	}
	for _, fill := range []byte{0x00, ' ', '/', ':', 'a', 0x7f, 0x80, 0xaf, 0xb0, 0xb9, 0xff} {
		for pos := 0; pos < 8; pos++ {
			for v := 0; v < 256; v++ {
				w := bytes.Repeat([]byte{fill}, 8)
				w[pos] = byte(v)
				check(string(w), 0)
				for n := pos + 1; n < 8; n++ { // the end of the text
					check(string(w[:n]), 0)
				}
			}
		}
	}
	for a := 0; a < 256; a++ {
		for b := 0; b < 256; b++ {
			check(strings.Repeat(string([]byte{byte(a), byte(b)}), 4), 0)
		}
	}
	check("x12345678y", 1)
	check("x12345678y", 5)
}
