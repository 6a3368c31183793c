package exchange

import "testing"

func TestClassifyDocTable(t *testing.T) {
	rows := []struct {
		name string
		f    classFacts
		want classAction
		diag bool
	}{
		{"a registered type matches", classFacts{matched: true, resolution: resolveReject}, classInterpret, false},
		{"resolve: interpret", classFacts{resolution: resolveInterpret, typeUsable: true}, classInterpret, false},
		{"resolve: interpret an unusable type", classFacts{resolution: resolveInterpret}, classVacant, true},
		{"resolve: replicate", classFacts{resolution: resolveReplicate, hasFactory: true}, classReplicate, false},
		{"resolve: replicate without a factory", classFacts{resolution: resolveReplicate}, classVacant, true},
		{"resolve: defer", classFacts{resolution: resolveDefer}, classDefer, false},
		{"resolve: reject", classFacts{resolution: resolveReject, supported: true}, classVacant, false},
		{"no answer, supported type: defer", classFacts{supported: true}, classDefer, false},
		{"no answer, unsupported type: vacant", classFacts{}, classVacant, false},
	}
	for _, r := range rows {
		act, why := classifyDoc(r.f)
		if act != r.want || (why != "") != r.diag {
			t.Errorf("%s: got %d %q, want %d (diagnostic %v)", r.name, act, why, r.want, r.diag)
		}
	}
}
