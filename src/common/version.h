// The version natterd was built as (the project's CMake version), for
// --version, natter_build_info and crash reports.
#pragma once

namespace natter {

// A string literal: safe to read anywhere, a signal handler included.
const char* Version();

}  // namespace natter
