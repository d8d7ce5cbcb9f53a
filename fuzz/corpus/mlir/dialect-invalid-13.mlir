
// expected-error @+1 {{admission_threshold must be >= 0}}
mtgr.table @t dynamic rows(4) dim(4) {admission_threshold = -1 : i64}

