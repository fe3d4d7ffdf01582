// fusedops::add through the C++ API (the dispatcher): broadcasting, type promotion, autograd and
// argument errors, against a + b computed by ATen in float64.
#include <fusedops/fusedops.h>

#include <algorithm>

#include "test_utils.h"

namespace fusedops_test {
namespace {

struct Shapes {
  const char* name;
  std::vector<int64_t> a, b;
};
std::string name_of(const Shapes& s) { return s.name; }

const Shapes kShapes[] = {
    {"Same", {4, 5}, {4, 5}},
    {"RowVector", {3, 6}, {6}},
    {"ColumnTimesRow", {5, 1}, {1, 7}},
    {"ThreeD", {2, 1, 4}, {3, 1}},
    {"ZeroDim", {}, {2, 3}},
    {"BothZeroDim", {}, {}},
    {"FiveD", {2, 1, 3, 1, 2}, {1, 4, 1, 5, 1}},
};

// -- forward ------------------------------------------------------------------------------------------------

// Operands with reversed strides (dims drawn backwards, then permuted into place).
at::Tensor strided_randn(std::vector<int64_t> shape, at::ScalarType dtype, c10::DeviceType device) {
  std::vector<int64_t> dims(shape.size());
  for (size_t d = 0; d < dims.size(); ++d) dims[d] = static_cast<int64_t>(dims.size() - 1 - d);
  std::reverse(shape.begin(), shape.end());
  return randn(shape, dtype, device).permute(dims);
}

class AddShapes : public DeviceTest<std::tuple<c10::DeviceType, at::ScalarType, Shapes>> {};

TEST_P(AddShapes, BroadcastsLikeAten) {
  const auto& [device, dtype, shapes] = GetParam();
  for (const bool contiguous : {true, false}) {
    SCOPED_TRACE(contiguous ? "contiguous operands" : "strided operands");
    const at::Tensor a = contiguous ? randn(shapes.a, dtype, device) : strided_randn(shapes.a, dtype, device);
    const at::Tensor b = contiguous ? randn(shapes.b, dtype, device) : strided_randn(shapes.b, dtype, device);
    const at::Tensor out = fusedops::add(a, b);
    EXPECT_EQ(out.scalar_type(), dtype);
    EXPECT_EQ(out.device().type(), device);
    EXPECT_TRUE(matches_reference(out, f64_leaf(a) + f64_leaf(b), dtype));
  }
}

INSTANTIATE_TEST_SUITE_P(Add, AddShapes,
                         ::testing::Combine(::testing::ValuesIn(kDevices), ::testing::Values(at::kFloat, at::kDouble),
                                            ::testing::ValuesIn(kShapes)),
                         param_name<AddShapes::ParamType>);

const at::ScalarType kFloatTypes[] = {at::kFloat, at::kDouble, at::kHalf, at::kBFloat16};

class AddPromotion : public DeviceTest<std::tuple<c10::DeviceType, at::ScalarType, at::ScalarType>> {};

TEST_P(AddPromotion, PromotesLikeAten) {
  const auto& [device, a_dtype, b_dtype] = GetParam();
  const at::Tensor a = randn({3, 1, 4}, a_dtype, device), b = randn({5, 1}, b_dtype, device);
  const at::Tensor out = fusedops::add(a, b);
  const at::ScalarType expected_dtype = at::result_type(a, b);
  EXPECT_EQ(out.scalar_type(), expected_dtype);
  EXPECT_TRUE(matches_reference(out, f64_leaf(a) + f64_leaf(b), expected_dtype));
}

INSTANTIATE_TEST_SUITE_P(Add, AddPromotion,
                         ::testing::Combine(::testing::ValuesIn(kDevices),
                                            ::testing::ValuesIn(kFloatTypes), ::testing::ValuesIn(kFloatTypes)),
                         param_name<AddPromotion::ParamType>);

// -- empty tensors, autograd --------------------------------------------------------------------------------

class AddDevice : public DeviceTest<std::tuple<c10::DeviceType, at::ScalarType>> {};

TEST_P(AddDevice, EmptyBatchGivesEmptyResult) {
  const auto& [device, dtype] = GetParam();
  const at::Tensor out = fusedops::add(randn({0, 3}, dtype, device), randn({3}, dtype, device));
  EXPECT_EQ(out.sizes(), at::IntArrayRef({0, 3}));
  EXPECT_EQ(out.scalar_type(), dtype);
}

// A 0-dim operand does not promote a dimensioned one of the same category (float32 + float64 scalar).
TEST_P(AddDevice, ZeroDimOperandDoesNotPromote) {
  const auto& [device, dtype] = GetParam();
  const at::Tensor a = randn({2, 3}, dtype, device);
  for (const at::ScalarType scalar_dtype : kFloatTypes) {
    const at::Tensor b = randn({}, scalar_dtype, device);
    EXPECT_EQ(fusedops::add(a, b).scalar_type(), dtype) << "with a 0-dim " << scalar_dtype;
    EXPECT_EQ(fusedops::add(b, a).scalar_type(), dtype) << "with a 0-dim " << scalar_dtype;
  }
}

// Gradients of each operand are summed over the dimensions it was broadcast along, in its own dtype.
TEST_P(AddDevice, BackwardMatchesAten) {
  const auto& [device, dtype] = GetParam();
  const at::Tensor a = randn({4, 1, 3}, dtype, device, true), b = randn({5, 1}, at::kDouble, device, true);
  const at::Tensor out = fusedops::add(a, b);
  const at::Tensor grad_out = randn(out.sizes(), out.scalar_type(), device);
  out.backward(grad_out);

  const at::Tensor a_ref = f64_leaf(a, true), b_ref = f64_leaf(b, true);
  (a_ref + b_ref).backward(f64_leaf(grad_out));
  ASSERT_TRUE(a.grad().defined() && b.grad().defined());
  EXPECT_EQ(a.grad().scalar_type(), dtype);
  EXPECT_EQ(b.grad().scalar_type(), at::kDouble);
  EXPECT_TRUE(matches_reference(a.grad(), a_ref.grad(), dtype));
  EXPECT_TRUE(matches_reference(b.grad(), b_ref.grad(), at::kDouble));
}

TEST_P(AddDevice, DoubleBackwardIsRefused) {
  const auto& [device, dtype] = GetParam();
  const at::Tensor a = randn({4, 3}, dtype, device, true), b = randn({3}, dtype, device, true);
  const at::Tensor out = fusedops::add(a, b);
  // (out * out).sum() makes the incoming gradient (2 * out) require grad, so the backward is recorded.
  const auto grads = torch::autograd::grad({(out * out).sum()}, {a, b}, {}, /*retain_graph=*/true,
                                           /*create_graph=*/true);
  EXPECT_TRUE(throws_error([&] { torch::autograd::grad({grads[0].sum()}, {a}); },
                           {"fusedops::add_backward", "double backward"}));
  EXPECT_TRUE(throws_error([&] { (grads[0].sum() + grads[1].sum()).backward(); }, {"double backward"}));
}

INSTANTIATE_TEST_SUITE_P(Add, AddDevice,
                         ::testing::Combine(::testing::ValuesIn(kDevices), ::testing::Values(at::kFloat, at::kDouble)),
                         param_name<AddDevice::ParamType>);

// -- argument errors ----------------------------------------------------------------------------------------

TEST(AddErrors, IntegerOperandNamesIt) {
  const at::Tensor f = torch::rand({3}), i = torch::randint(1, 9, {3}, torch::kInt);
  EXPECT_TRUE(throws_error([&] { fusedops::add(i, f); }, {"fusedops::add", "a must be"}));
  EXPECT_TRUE(throws_error([&] { fusedops::add(f, i.to(torch::kLong)); }, {"fusedops::add", "b must be"}));
}

TEST(AddErrors, ShapesThatDoNotBroadcast) {
  EXPECT_TRUE(throws_error([&] { fusedops::add(torch::rand({2, 3}), torch::rand({4})); }, {"size of tensor a"}));
}

TEST(AddErrors, OperandsOnDifferentDevices) {
  if (const std::string why = unavailable(c10::kCUDA); !why.empty()) GTEST_SKIP() << why;
  EXPECT_TRUE(throws_error([&] { fusedops::add(torch::rand({3}), torch::rand({3}, torch::kCUDA)); },
                           {"fusedops::add", "b is on", "same device"}));
}

}  // namespace
}  // namespace fusedops_test
