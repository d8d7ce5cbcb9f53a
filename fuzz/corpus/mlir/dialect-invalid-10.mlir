
// expected-error @+1 {{rows must be positive, got 0}}
mtgr.table @t fixed rows(0) dim(4)

