
// expected-error @+1 {{admission_threshold and eviction apply to dynamic tables only}}
mtgr.table @t hashed rows(4) dim(4) {eviction = #mtgr<eviction lru>}

