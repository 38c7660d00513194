// `convert_mtcnn` on facenet-pytorch's legacy files and on bad input: strict, clear, atomic.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "nn/mtcnn.h"
#include "tests/support/test_env.h"
#include "tools/convert/convert.h"
#include "weights/fgw.h"

namespace fg::convert {
namespace {

namespace fs = std::filesystem;

class MtcnnConvert : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string data = test::data_dir();
    if (data.empty()) GTEST_SKIP() << "SKIPPED: no shared data (../shared/data or $FACEGATE_DATA)";
    src_ = data + "/mtcnn/";
    dir_ = test::scratch_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    out_ = dir_ + "/mtcnn.fgw";
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Conversion fails with a message containing every one of `expect`, and leaves no file.
  void expect_fails(const std::string& p, const std::string& r, const std::string& o,
                    const std::vector<std::string>& expect) {
    std::string err;
    try {
      convert_mtcnn(p, r, o, out_);
    } catch (const std::exception& e) {
      err = e.what();
    }
    for (const auto& e : expect) EXPECT_NE(err.find(e), std::string::npos) << "wanted '" << e << "' in: " << err;
    EXPECT_FALSE(fs::exists(out_));
    for (const auto& f : fs::directory_iterator(dir_))
      if (f.path().filename().string().rfind("mtcnn.fgw", 0) == 0) ADD_FAILURE() << "left behind: " << f.path();
  }

  std::string src_, dir_, out_;
};

TEST_F(MtcnnConvert, LegacyFilesBecomeOneWeightsFile) {
  const Summary s = convert_mtcnn(src_ + "pnet.pt", src_ + "rnet.pt", src_ + "onet.pt", out_);
  EXPECT_EQ(s.arch, "mtcnn");
  EXPECT_EQ(s.tensors_written, nn::mtcnn_tensor_shapes().size());
  EXPECT_EQ(s.parameters, 6632 + 100178 + 389040);  // per SOURCE.txt
  const auto f = weights::WeightsFile::open(out_);
  EXPECT_EQ(f.meta_string("arch"), "mtcnn");
  EXPECT_EQ(f.meta_string("pnet_sha256"), "a2a71925e0b9996a42f63e47efc1ca19043e69558b5c523b978d611dfae49c8f");
  EXPECT_EQ(f.meta_string("rnet_sha256"), "bbb937de72efc9ef83b186c49f5f558467a1d7e3453a8ece0d71a886633f6a86");
  EXPECT_EQ(f.meta_string("onet_sha256"), "165bfbe42940416ccfb977545cf0e976d5bf321f67083ae2aaaa5c764280118d");
  EXPECT_EQ(f.meta_string("onet_source_name"), "onet.pt");
  EXPECT_FALSE(f.meta_string("converter_version").empty());
  for (const auto& [name, shape] : nn::mtcnn_tensor_shapes()) EXPECT_NO_THROW(f.tensor(name, shape)) << name;
  EXPECT_NO_THROW(nn::Mtcnn net(f));
}

TEST_F(MtcnnConvert, FilesInTheWrongOrderAreNamed) {
  expect_fails(src_ + "rnet.pt", src_ + "pnet.pt", src_ + "onet.pt",
               {src_ + "rnet.pt", "conv1.weight: got [28,3,3,3], expected [10,3,3,3]", "looks like rnet.pt"});
}

TEST_F(MtcnnConvert, MissingAndForeignFilesAreErrors) {
  expect_fails(src_ + "pnet.pt", dir_ + "/nope.pt", src_ + "onet.pt", {dir_ + "/nope.pt"});
  const std::string text = dir_ + "/text.pt";
  std::ofstream(text) << "not a checkpoint";
  expect_fails(src_ + "pnet.pt", src_ + "rnet.pt", text, {text});
  fs::remove(text);
}

// Written again by torch itself in the zip format, with one extra and one missing tensor.
TEST_F(MtcnnConvert, ZipFilesAndStrictNames) {
  if (test::torch_python().empty()) GTEST_SKIP() << "SKIPPED: no Python with torch (set FACEGATE_PYTHON)";
  const std::string py =
      "import sys, torch\n"
      "src, dst = sys.argv[1], sys.argv[2]\n"
      "for n in ('pnet', 'rnet', 'onet'):\n"
      "    torch.save(torch.load(f'{src}/{n}.pt'), f'{dst}/{n}_zip.pt')\n"
      "sd = torch.load(f'{src}/onet.pt'); sd['dense7.weight'] = torch.zeros(3, 3)\n"
      "torch.save(sd, f'{dst}/onet_extra.pt')\n"
      "sd = torch.load(f'{src}/rnet.pt'); del sd['prelu2.weight']\n"
      "torch.save(sd, f'{dst}/rnet_missing.pt')\n";
  std::ofstream(dir_ + "/make.py") << py;
  ASSERT_EQ(test::run(test::torch_python() + " " + test::sh_quote(dir_ + "/make.py") + " " + test::sh_quote(src_) +
                      " " + test::sh_quote(dir_)),
            0);
  const std::string zip = dir_ + "/zip.fgw";
  convert_mtcnn(dir_ + "/pnet_zip.pt", dir_ + "/rnet_zip.pt", dir_ + "/onet_zip.pt", zip);
  convert_mtcnn(src_ + "pnet.pt", src_ + "rnet.pt", src_ + "onet.pt", out_);
  const auto a = weights::WeightsFile::open(zip), b = weights::WeightsFile::open(out_);
  for (const auto& [name, shape] : nn::mtcnn_tensor_shapes()) {
    const auto &ta = a.tensor(name, shape), &tb = b.tensor(name, shape);
    EXPECT_TRUE(std::equal(ta.data, ta.data + ta.numel(), tb.data)) << name;
  }
  fs::remove(zip);
  fs::remove(out_);
  for (const char* f : {"/make.py", "/pnet_zip.pt", "/rnet_zip.pt", "/onet_zip.pt"}) fs::remove(dir_ + f);
  const std::string extra = dir_ + "/onet_extra.pt", missing = dir_ + "/rnet_missing.pt";
  std::string err;
  try {
    convert_mtcnn(src_ + "pnet.pt", src_ + "rnet.pt", extra, out_);
  } catch (const std::exception& e) {
    err = e.what();
  }
  EXPECT_NE(err.find("unexpected tensor dense7.weight [3,3]"), std::string::npos) << err;
  err.clear();
  try {
    convert_mtcnn(src_ + "pnet.pt", missing, src_ + "onet.pt", out_);
  } catch (const std::exception& e) {
    err = e.what();
  }
  EXPECT_NE(err.find("missing tensor prelu2.weight [48]"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(out_));
}

}  // namespace
}  // namespace fg::convert
