; symhv query: 1 constraints, 3 nodes
(set-logic QF_BV)
; input 0 16 input
(declare-fun i0.0 () (_ BitVec 8))
(define-fun e0 () (_ BitVec 8) i0.0)
(define-fun e1 () (_ BitVec 8) (_ bv115 8))
(define-fun e2 () (_ BitVec 1) (ite (= e0 e1) #b1 #b0))
(assert (= e2 #b1))
(check-sat)
(exit)
