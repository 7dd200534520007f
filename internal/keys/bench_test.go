package keys

import "testing"

// BenchmarkForUpload measures preparing a two-key set for upload, done once
// per run.
func BenchmarkForUpload(b *testing.B) {
	doc := []byte(readFixture(b, "keys/test-rsa-ab.jwks.json"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ForUpload(doc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSameKeys measures comparing an organization's stored key set with
// the uploaded one, done once per organization (tens of thousands a run).
func BenchmarkSameKeys(b *testing.B) {
	stored := readFixture(b, "stored/dotnet-ba.json")
	uploaded := readFixture(b, "keys/test-rsa-ab.jwks.json")
	b.ReportAllocs()
	for b.Loop() {
		same, err := SameKeys(stored, uploaded)
		if err != nil || !same {
			b.Fatal(same, err)
		}
	}
}

// BenchmarkCheckDocument measures judging a key set, done once per `jwks check`.
func BenchmarkCheckDocument(b *testing.B) {
	doc := []byte(readFixture(b, "keys/test-rsa-ab.jwks.json"))
	b.ReportAllocs()
	for b.Loop() {
		if fs := CheckDocument(doc); Errors(fs) != 0 {
			b.Fatal(fs)
		}
	}
}
