package exchange

// What to do with a document a peer announced that we do not hold (§6.3)
// is decided here from facts the shell gathered: whether a registered doc
// type matches, what the resolve policies answered, and whether a factory
// can hold it.

type classAction uint8

const (
	classInterpret classAction = iota + 1 // interpret with the matched or resolved doc type
	classReplicate                        // hold it headless with the factory for its type
	classDefer                            // remember it without data
	classVacant                           // answer vacant
)

// classFacts are the inputs of the decision.
type classFacts struct {
	matched    bool           // a registered DocType matches (type, mode, hash)
	resolution resolutionKind // the resolve policies' answer (when nothing matched)
	typeUsable bool           // Interpret's doc type passed validation
	hasFactory bool           // a replica factory handles the announced type and mode
	supported  bool           // some factory or doc type knows the replica type at all
}

// classifyDoc decides; why explains a vacant that a diagnostic should
// report ("" when the vacant is the policy's own choice or the default).
func classifyDoc(f classFacts) (act classAction, why string) {
	if f.matched {
		return classInterpret, ""
	}
	switch f.resolution {
	case resolveInterpret:
		if !f.typeUsable {
			return classVacant, "resolve answered Interpret with an unusable doc type"
		}
		return classInterpret, ""
	case resolveReplicate:
		if !f.hasFactory {
			return classVacant, "resolve answered Replicate but no factory handles the doc's type and mode"
		}
		return classReplicate, ""
	case resolveDefer:
		return classDefer, ""
	case resolveReject:
		return classVacant, ""
	}
	// No answer: defer what we could hold later, refuse the rest.
	if f.supported {
		return classDefer, ""
	}
	return classVacant, ""
}
