package risk

import (
	"fmt"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"github.com/paygate/paygate/internal/errs"
	"github.com/paygate/paygate/internal/store"
)

// MaxExpressionLength bounds a rule's expression, in bytes.
const MaxExpressionLength = 4096

// Size bounds the cost estimator assumes: they are the limits the API
// enforces on what a payment carries.
const (
	maxStringSize   = 1000 // subject, description and the other strings
	maxMetadataSize = 20   // entries
)

// listMatcher answers in_list(name, value).
type listMatcher func(name, value string) bool

// newEnv declares the context and in_list, whose answers come from lists.
func newEnv(lists listMatcher) (*cel.Env, error) {
	opts := make([]cel.EnvOption, 0, len(fields)+1)
	for _, f := range fields {
		opts = append(opts, cel.Variable(f.Name, f.typ))
	}
	opts = append(opts, cel.Function("in_list",
		cel.Overload("in_list_string_string", []*cel.Type{cel.StringType, cel.StringType}, cel.BoolType,
			cel.BinaryBinding(func(name, value ref.Val) ref.Val {
				n, ok1 := name.(types.String)
				v, ok2 := value.(types.String)
				if !ok1 || !ok2 || lists == nil {
					return types.False
				}
				return types.Bool(lists(string(n), string(v)))
			}))))
	return cel.NewEnv(opts...)
}

// checkEnv type-checks rules when they are saved; its in_list matches nothing.
var checkEnv = func() *cel.Env {
	env, err := newEnv(nil)
	if err != nil {
		panic("risk: the context does not declare: " + err.Error())
	}
	return env
}()

// errRuleInvalid is the 400 of a rule that does not compile.
func errRuleInvalid(msg string) *errs.Error {
	e := errs.Invalid("rule_invalid", msg)
	e.Param = "expression"
	return e
}

// checked is a rule's expression, compiled and type-checked.
type checked struct {
	ast  *cel.Ast
	cost uint64 // estimated worst case
	need store.RiskCounterSet
}

// check compiles and type-checks expr against the context, estimates its
// worst-case cost and finds the counters it uses. Errors are rule_invalid
// 400s with the line and column.
func check(expr string, maxCost uint64) (*checked, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, errs.Missing("expression")
	}
	if len(expr) > MaxExpressionLength {
		return nil, errRuleInvalid(fmt.Sprintf("The expression is longer than %d bytes.", MaxExpressionLength))
	}
	ast, iss := checkEnv.Compile(expr)
	if iss.Err() != nil {
		e := iss.Errors()[0]
		return nil, errRuleInvalid(fmt.Sprintf("The expression does not compile: line %d, column %d: %s.",
			e.Location.Line(), e.Location.Column()+1, strings.TrimSuffix(e.Message, ".")))
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		return nil, errRuleInvalid("The expression must be true or false; it is of type " + ast.OutputType().String() + ".")
	}
	est, err := checkEnv.EstimateCost(ast, sizes{})
	if err != nil {
		return nil, errRuleInvalid("The expression's cost cannot be bounded: " + err.Error() + ".")
	}
	if est.Max > maxCost {
		return nil, errRuleInvalid(fmt.Sprintf("The expression may cost up to %d to evaluate; rules may cost at most %d.", est.Max, maxCost))
	}
	c := &checked{ast: ast, cost: est.Max}
	for _, ref := range ast.NativeRep().ReferenceMap() {
		if i, ok := fieldIndex[ref.Name]; ok {
			c.need |= fields[i].need
		}
	}
	return c, nil
}

// sizes tells the cost estimator how large the context's values can be.
type sizes struct{}

func (sizes) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	path := strings.Join(n.Path(), ".")
	switch {
	case strings.HasPrefix(path, "order.metadata"):
		if path == "order.metadata" {
			return &cost.SizeEstimate{Min: 0, Max: maxMetadataSize}
		}
		return &cost.SizeEstimate{Min: 0, Max: 500}
	case n.Type() != nil && n.Type().IsExactType(cel.StringType) && path != "":
		return &cost.SizeEstimate{Min: 0, Max: maxStringSize}
	}
	return nil
}

func (sizes) EstimateCallCost(function, overloadID string, target *cost.AstNode, args []cost.AstNode) *cost.CallEstimate {
	return nil
}

// program plans a checked expression for env, with a runtime cost limit.
func program(env *cel.Env, c *checked, maxCost uint64) (cel.Program, error) {
	return env.Program(c.ast, cel.CostLimit(maxCost), cel.EvalOptions(cel.OptOptimize))
}

// eval runs prg and reports whether it was true.
func eval(prg cel.Program, a *activation) (bool, error) {
	out, _, err := prg.Eval(a)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("rule returned %s, not a bool", out.Type())
	}
	return bool(b), nil
}
