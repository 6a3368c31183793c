package exchange

import (
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/wire"
)

// What an offer carries is decided here from values; the shell exports
// accordingly (exportFor).

// offerAction is what to export for one offer.
type offerAction uint8

const (
	offerNothing    offerAction = iota + 1
	offerLog                    // a multi-payload log from a version (offerPlan.from; "" = all)
	offerEntirety               // the whole state
	offerSinceOurs              // whatever the replica adds at our own version (CRDTs); plain has nothing
	offerSince                  // the delta after the peer's version (offerPlan.theirs), or the entirety if it predates our base
	offerBadVersion             // the peer's version does not parse or compare; nothing is sent
)

type offerPlan struct {
	act    offerAction
	from   string          // offerLog
	theirs replica.Version // offerSince
	err    error           // offerBadVersion
}

// planOffer decides an offer. since is the baseline (nil: none); push
// marks our own push from our previous version (otherwise since is the
// peer's version, from its interest); multi marks a replica that exports a
// log of payloads (the opaque relay).
func planOffer(ours replica.Version, since *string, push, multi bool, parse func(string) (replica.Version, error)) offerPlan {
	if multi {
		// An opaque log cannot tell what a peer's own version contains: a
		// peer's stamp says nothing about payloads that reached the relay
		// from others. Only a push, from our own previous version, can
		// send just the payloads after it; an answer to an interest sends
		// the whole log (set union: the receiver skips what it has).
		if since != nil && push {
			return offerPlan{act: offerLog, from: *since}
		}
		return offerPlan{act: offerLog}
	}
	if since == nil || *since == "" {
		return offerPlan{act: offerEntirety}
	}
	theirs, err := parse(*since)
	if err != nil {
		return offerPlan{act: offerBadVersion, err: err}
	}
	ord, err := ours.Compare(theirs)
	if err != nil {
		return offerPlan{act: offerBadVersion, err: err}
	}
	if ord == replica.Behind || ord == replica.Equal {
		return offerPlan{act: offerSinceOurs} // no gap
	}
	return offerPlan{act: offerSince, theirs: theirs}
}

// perPeerInterest is the interest an opaque relay sends one peer: with the
// version its log can back for that peer, or without a version when it
// has none, so the peer sends everything (a stamp another peer gave the
// relay says nothing about what this peer's payloads contain).
func perPeerInterest(in *wire.Interest, version string, ok bool) *wire.Interest {
	msg := *in
	msg.Version = nil
	if ok {
		msg.Version = &version
	}
	return &msg
}
