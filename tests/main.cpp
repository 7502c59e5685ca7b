// Catch2's runner, then the tests' temporary files go (tests/helpers.hpp: finish_temp_files).
#define CATCH_CONFIG_RUNNER
#include "tests/helpers.hpp"

#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
  int failed = Catch::Session().run(argc, argv);
  geosim::test::finish_temp_files(failed == 0);
  return failed;
}
