; symhv query: 1 constraints, 6 nodes
(set-logic QF_BV)
; input 0 16 input
(declare-fun i0.0 () (_ BitVec 8))
(define-fun e0 () (_ BitVec 8) i0.0)
(define-fun e1 () (_ BitVec 32) ((_ zero_extend 24) e0))
(define-fun e2 () (_ BitVec 32) (_ bv4294967181 32))
(define-fun e3 () (_ BitVec 32) (bvadd e1 e2))
(define-fun e4 () (_ BitVec 32) (_ bv0 32))
(define-fun e5 () (_ BitVec 1) (ite (= e3 e4) #b1 #b0))
(assert (= e5 #b1))
(check-sat)
(exit)
