// The suite set-up the model-running end-to-end tests share: the fixture's random-weight
// ResNet-50 and facenet-pytorch's MTCNN converted once per suite, and what a test says when
// the suite could not be made.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "tests/e2e/facegate_process.h"
#include "tests/support/test_env.h"

namespace fg::test {

// In SetUpTestSuite: a new Suite with its `data` (the shared data folder) and a fresh `dir`
// (scratch_dir(name)); nullptr when the fixture, the shared data or facegate is missing.
template <class Suite>
Suite* new_suite(const std::string& name) {
  const std::string data = data_dir();
  if (resnet_fixture().empty() || data.empty() || facegate_binary().empty()) return nullptr;
  Suite* suite = new Suite;
  suite->data = data;
  suite->dir = scratch_dir(name);
  return suite;
}

// Converts the ResNet-50 of the fixture into `dir`/model.fgw and the MTCNN of `data` into
// `dir`/mtcnn.fgw, their paths into `model` and `mtcnn`; throws when facegate convert fails.
inline void convert_models(const std::string& data, const std::string& dir, std::string& model, std::string& mtcnn) {
  model = dir + "/model.fgw";
  mtcnn = dir + "/mtcnn.fgw";
  const std::string m = data + "/mtcnn/";
  if (run_facegate("convert " + sh_quote(resnet_fixture() + "/trainer.pt") + " -o " + sh_quote(model), dir).code != 0 ||
      run_facegate("convert " + sh_quote(m + "pnet.pt") + " " + sh_quote(m + "rnet.pt") + " " +
                       sh_quote(m + "onet.pt") + " -o " + sh_quote(mtcnn),
                   dir)
              .code != 0) {
    throw std::runtime_error("conversion failed: " + read_text(dir + "/stderr"));
  }
}

// In SetUp when the suite was not made: skips with the reason, or fails when PyTorch is here
// but the fixture is not. Either way the test body does not run.
inline void skip_or_fail_without_suite() {
  if (data_dir().empty()) GTEST_SKIP() << "SKIPPED: no shared data (../shared/data or $FACEGATE_DATA)";
  if (torch_python().empty()) GTEST_SKIP() << "SKIPPED: python3-torch missing, no model to test with";
  FAIL() << "PyTorch is here but the fixture is not: run ctest, whose resnet_fixture test makes it";
}

// In SetUp: a fresh scratch directory named `prefix` + the running test's name.
inline std::string test_scratch_dir(const std::string& prefix) {
  return scratch_dir(prefix + ::testing::UnitTest::GetInstance()->current_test_info()->name());
}

// In TearDownTestSuite: removes the suite's directory (`suite->dir`) and the suite.
template <class Suite>
void drop_suite(Suite*& suite) {
  if (suite) std::filesystem::remove_all(suite->dir);
  delete suite;
  suite = nullptr;
}

}  // namespace fg::test
