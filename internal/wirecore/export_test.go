package wirecore

// Exports for this package's external tests (package wire_test), which run
// the transports' pipeline steps over the vectors with the helpers of the
// internal tests.

type (
	OrderedMap = orderedMap
	TJSONError = tjsonError
)

const AllocSlack = allocSlack

var (
	NewRecordingClock    = newRecordingClock
	JoinPieces           = joinPieces
	FuzzPieces           = fuzzPieces
	Allocated            = allocated
	AliasErrorValue      = aliasErrorValue
	CheckReassemblyError = checkReassemblyError
	JSErrorClass         = jsErrorClass
	SortedValue          = sortedValue
	ParseTJSON           = parseTJSON
	ValueEqual           = valueEqual
	ShowValue            = showValue
	MustHex              = mustHex
	CheckCount           = checkCount
	ChannelMsgFromValue  = channelMsgFromValue
	ChannelMsgValue      = channelMsgValue
	ReadVectorFile       = readVectorFile
	LoadVectors          = loadVectors
)
