package gateway

// Master key rotation (paygate keys rotate-master). Every value sealed with
// the master key is sealed again under the new one while the gateway
// serves:
//
//  1. The operator restarts every node with the new key as master_key and
//     the old one in old_master_keys (with several nodes: first give every
//     node the new key in old_master_keys, so that no node meets a value
//     sealed under a key it lacks; then swap the two). Nodes then open
//     values under either key and seal new ones under the new key.
//  2. RotateMasterKey walks every column that holds sealed values
//     (store.SealedStore), in batches, and replaces each value not under the
//     new key by the same plaintext sealed under it, each row in its own
//     transaction and only if the row still holds the value listed
//     (compare-and-set), so a write made meanwhile (a secret rotated, an
//     answer purged) is never lost: it is simply listed again or gone. A
//     run stopped half-way is resumed by running it again; a run with
//     nothing left to do changes nothing.
//  3. It then counts, column by column, the values not under the new key:
//     none may remain. A count above zero (a node still sealing with the
//     old key, a value under a key nobody gave) fails the run.
//  4. The operator removes old_master_keys and restarts.
//
// Keys derived from the master key (request and card fingerprints) come
// from the derivation root (cryptobox.LoadRoot), which the rotation only
// reseals: every fingerprint kept before it still matches after it.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/paygate/paygate/internal/api"
	"github.com/paygate/paygate/internal/cryptobox"
	"github.com/paygate/paygate/internal/store"
)

// RotateMasterOptions tune RotateMasterKey.
type RotateMasterOptions struct {
	// BatchSize is how many values are listed at a time; default 200.
	BatchSize int
	// Passes bounds the walks over a column whose values kept changing
	// under the rotation; default 5.
	Passes int
	// Progress, when set, is called after each batch.
	Progress func(column string, resealed int)
}

// RotateMasterColumn is what RotateMasterKey did to one column.
type RotateMasterColumn struct {
	Column string
	// Resealed counts the values sealed again under the new key.
	Resealed int
	// Changed counts the values written by someone else between listing
	// and resealing (walked again in the next pass).
	Changed int
	// Failed counts the values that did not open (sealed under a key the
	// box does not hold, or damaged); FirstError is the first reason.
	Failed     int
	FirstError string
	// Left counts the values not under the new key at the end: 0 when the
	// rotation is complete.
	Left int64
}

// RotateMasterReport is RotateMasterKey's account.
type RotateMasterReport struct {
	KeyID   string   // the new master key's id
	OldKeys []string // the ids of the old keys given
	Columns []RotateMasterColumn
}

// Resealed is the total of values resealed.
func (r *RotateMasterReport) Resealed() int {
	n := 0
	for _, c := range r.Columns {
		n += c.Resealed
	}
	return n
}

// Left is the total of values not under the new key at the end.
func (r *RotateMasterReport) Left() int64 {
	var n int64
	for _, c := range r.Columns {
		n += c.Left
	}
	return n
}

// ErrRotationIncomplete is returned by RotateMasterKey, with its report,
// when values not under the new key remain.
var ErrRotationIncomplete = errors.New("master key rotation incomplete")

// RotateMasterKey reseals every value of st sealed with a master key other
// than box's current one under the current one (see the top of this file),
// then proves none is left. It returns ErrRotationIncomplete, and the
// report, when some are.
func RotateMasterKey(ctx context.Context, st store.Store, box *cryptobox.Box, opts RotateMasterOptions) (*RotateMasterReport, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 200
	}
	if opts.Passes <= 0 {
		opts.Passes = 5
	}
	cur := box.CurrentKeyID()
	rep := &RotateMasterReport{KeyID: cur, OldKeys: box.KeyIDs()[1:]}
	for _, col := range st.SealedColumns() {
		c := RotateMasterColumn{Column: col}
		for pass := 0; pass < opts.Passes; pass++ {
			changed := c.Changed
			if err := resealColumn(ctx, st, box, col, &c, opts); err != nil {
				return rep, err
			}
			if c.Changed == changed {
				break // nothing moved under this pass: the next would find the same
			}
		}
		rep.Columns = append(rep.Columns, c)
	}
	// The proof: counted afresh, after every column was walked.
	for i := range rep.Columns {
		n, err := st.SealedCount(ctx, rep.Columns[i].Column, cur)
		if err != nil {
			return rep, err
		}
		rep.Columns[i].Left = n
	}
	if left := rep.Left(); left > 0 {
		return rep, fmt.Errorf("%w: %d values are not sealed under key %s (%s)", ErrRotationIncomplete, left, cur, leftDetail(rep))
	}
	return rep, nil
}

// resealColumn walks column once, resealing each value not under the
// box's current key.
func resealColumn(ctx context.Context, st store.Store, box *cryptobox.Box, column string, c *RotateMasterColumn, opts RotateMasterOptions) error {
	var after []string
	for {
		vals, err := st.SealedList(ctx, column, box.CurrentKeyID(), after, opts.BatchSize)
		if err != nil {
			return err
		}
		if len(vals) == 0 {
			return nil
		}
		for _, v := range vals {
			sealed, err := resealValue(box, v)
			if err != nil {
				c.Failed++
				if c.FirstError == "" {
					c.FirstError = fmt.Sprintf("%v: %v", v.Key, err)
				}
				continue
			}
			switch err := st.SealedReplace(ctx, v, sealed); {
			case errors.Is(err, store.ErrStale):
				c.Changed++
			case err != nil:
				return err
			default:
				c.Resealed++
			}
		}
		if opts.Progress != nil {
			opts.Progress(column, c.Resealed)
		}
		after = vals[len(vals)-1].Key
	}
}

// resealValue seals v's plaintext again under the current key, bound to
// the same context it was sealed with.
func resealValue(box *cryptobox.Box, v *store.SealedValue) (string, error) {
	switch v.Column {
	case "settings.value": // only the derivation root is walked there
		return box.ResealFor(cryptobox.RootContext, v.Value)
	case "idempotency_keys.body":
		if len(v.Key) != 2 {
			return "", fmt.Errorf("idempotency record key %v", v.Key)
		}
		return box.ResealFor(api.IdempotencyAnswerContext(v.Key[0], v.Key[1], v.Status), v.Value)
	default:
		return box.Reseal(v.Value)
	}
}

// leftDetail names the columns with values left, and why when known.
func leftDetail(rep *RotateMasterReport) string {
	var parts []string
	for _, c := range rep.Columns {
		if c.Left == 0 {
			continue
		}
		p := fmt.Sprintf("%s: %d", c.Column, c.Left)
		if c.FirstError != "" {
			p += ", first failure " + c.FirstError
		} else {
			p += ", written under another key meanwhile: is a node still sealing with the old master key?"
		}
		parts = append(parts, p)
	}
	slices.Sort(parts)
	return fmt.Sprint(parts)
}
