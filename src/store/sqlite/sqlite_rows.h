// Reading a statement's rows into model values, for every SqliteTxn file.
#pragma once

#include <optional>
#include <vector>

#include "store/sqlite/sqlite_db.h"

namespace natter::sqlite {

// Every row of `s`, each made by `read`.
template <class T, class Reader>
Result<std::vector<T>> All(Statement& s, Reader read) {
  std::vector<T> out;
  for (;;) {
    NATTER_TRY(bool row, s.Step());
    if (!row) return out;
    out.push_back(read(s));
  }
}

// The first row of `s`, if any.
template <class T, class Reader>
Result<std::optional<T>> One(Statement& s, Reader read) {
  NATTER_TRY(bool row, s.Step());
  if (!row) return std::optional<T>();
  return std::optional<T>(read(s));
}

// The first column of every row, as integers (ids, seqs).
inline Result<std::vector<int64_t>> Ints(Statement& s) {
  return All<int64_t>(s, [](const Statement& row) { return row.Int(0); });
}

}  // namespace natter::sqlite
