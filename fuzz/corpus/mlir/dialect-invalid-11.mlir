
// expected-error @+1 {{dim must be positive, got 0}}
mtgr.table @t fixed rows(4) dim(0)

