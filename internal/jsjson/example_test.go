package jsjson_test

import (
	"fmt"
	"math"

	"github.com/kyneta-go/kyneta/internal/jsjson"
)

// Parse with hooks builds the caller's own value model. Here objects become
// Go maps that remember their key order, and integers become int64 as the
// wire's value model wants them.
func ExampleParse() {
	type ordered struct {
		keys []string
		vals map[string]any
	}
	opts := &jsjson.Options{
		KeyOrder: jsjson.PropertyOrder,
		Number: func(f float64) any {
			if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				return int64(f)
			}
			return f
		},
		Object: func(keys []string, vals []any) any {
			o := ordered{keys: append([]string(nil), keys...), vals: map[string]any{}}
			for i, k := range keys {
				o.vals[k] = vals[i]
			}
			return o
		},
	}
	v, err := jsjson.Parse(`{"b": 1.5, "10": "ten", "a": [1, "\ud83d\ude00"], "2": null, "b": 2}`, opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	o := v.(ordered)
	for _, k := range o.keys {
		fmt.Printf("%s: %#v\n", k, o.vals[k])
	}

	_, err = jsjson.Parse(`{"a": 1,}`, nil)
	fmt.Println(err)
	// Output:
	// 2: <nil>
	// 10: "ten"
	// b: 2
	// a: []interface {}{1, "😀"}
	// expected property name at offset 8
}

// The writers produce exactly what JSON.stringify produces.
func ExampleAppendString() {
	b := jsjson.AppendString(nil, "<tag> & \"quoted\"\n")
	for _, f := range []float64{1e21, 0.0000001, math.Copysign(0, -1), math.NaN()} {
		b = append(b, ' ')
		b = jsjson.AppendNumber(b, f)
	}
	fmt.Println(string(b))
	// Output: "<tag> & \"quoted\"\n" 1e+21 1e-7 0 null
}
