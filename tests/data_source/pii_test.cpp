// PII masking (Note [PII rules]). The valid numbers are published test numbers, checked by
// hand in the comments, not by the code under test.
#include "stages/pii_mask.h"
#include "stages/pii_rules.h"

#include <gtest/gtest.h>

namespace lmf::data {
namespace {

TEST(Luhn, AcceptsPublishedTestCardNumbers) {
  // Luhn: from the right, every second digit is doubled (minus 9 when above 9); the sum
  // must be a multiple of 10.
  // 4111 1111 1111 1111 (Visa test): 8 undoubled 1s = 8, 7 doubled 1s = 14, the 4 doubled
  // = 8: 30.
  EXPECT_TRUE(luhn_valid("4111 1111 1111 1111"));
  // 5500 0000 0000 0004 (Mastercard test): 4 + 5 + (5*2 = 10 -> 1) = 10.
  EXPECT_TRUE(luhn_valid("5500-0000-0000-0004"));
  // 378282246310005 (American Express test): 5+0+0+0+1+6+6+8+2+4+8+4+8+5+3 = 60.
  EXPECT_TRUE(luhn_valid("378282246310005"));
  // 4222222222222 (13-digit Visa test): 6 undoubled 2s = 12, 6 doubled = 24, the 4 = 4: 40.
  EXPECT_TRUE(luhn_valid("4222222222222"));
  EXPECT_TRUE(luhn_valid("79927398713"));  // the textbook Luhn example (sum 70)
}

TEST(Luhn, RefusesNumbersWithAWrongCheckDigit) {
  EXPECT_FALSE(luhn_valid("4111 1111 1111 1112"));
  EXPECT_FALSE(luhn_valid("5500 0000 0000 0005"));
  EXPECT_FALSE(luhn_valid("79927398710"));
  EXPECT_FALSE(luhn_valid(""));
}

TEST(CnResidentId, AcceptsValidNumbers) {
  // GB 11643-1999's example 11010519491231002X. Weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
  // on 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2: 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167;
  // 167 mod 11 = 2; "10X98765432"[2] = 'X'.
  EXPECT_TRUE(cn_resident_id_valid("11010519491231002X"));
  EXPECT_TRUE(cn_resident_id_valid("11010519491231002x"));
  // 440524188001010014: 28+36+0+25+16+16+2+8+48+0+0+9+0+5+0+0+2 = 195; 195 mod 11 = 8;
  // "10X98765432"[8] = '4'. Born 1880-01-01.
  EXPECT_TRUE(cn_resident_id_valid("440524188001010014"));
  EXPECT_EQ(cn_resident_id_check_char("11010519491231002"), 'X');
}

TEST(CnResidentId, RefusesWrongCheckCharactersAndImpossibleDates) {
  EXPECT_FALSE(cn_resident_id_valid("110105194912310021"));  // check should be X
  EXPECT_FALSE(cn_resident_id_valid("440524188001010015"));  // check should be 4
  // 11010519490230002 has the sum 7+9+0+5+0+20+2+9+24+27+0+18+30+0+0+0+4 = 155,
  // 155 mod 11 = 1 -> check '0': the checksum is right but February 30 does not exist.
  EXPECT_FALSE(cn_resident_id_valid("110105194902300020"));
  EXPECT_FALSE(cn_resident_id_valid("11010519491231002"));  // 17 characters
}

std::string mask(std::string text, PiiOptions options = {}, PiiCounts* counts = nullptr) {
  PiiRules rules(std::move(options));
  const PiiCounts found = rules.mask(text);
  if (counts != nullptr) *counts = found;
  return text;
}

TEST(PiiMask, MasksCardNumbersAsTheSeedShowsKeepingTheLastFour) {
  PiiCounts counts;
  EXPECT_EQ(mask("卡号 4111 1111 1111 1111 已登记", {}, &counts),
            "卡号 ****-****-****-1111 已登记");
  EXPECT_EQ(counts.card, 1u);
  EXPECT_EQ(mask("pay with 5500-0000-0000-0004."), "pay with ****-****-****-0004.");
  EXPECT_EQ(mask("amex 378282246310005"), "amex ****-****-****-0005");
  // Not Luhn-valid, or too short, or part of a longer number: left alone.
  EXPECT_EQ(mask("order 4111 1111 1111 1112", {}, &counts), "order 4111 1111 1111 1112");
  EXPECT_EQ(counts.card, 0u);
  EXPECT_EQ(mask("ref 123456789012"), "ref 123456789012");
  EXPECT_EQ(mask("id 41111111111111110000000"), "id 41111111111111110000000");
}

TEST(PiiMask, MasksResidentIdsPartiallyOrFully) {
  PiiCounts counts;
  EXPECT_EQ(mask("身份证号11010519491231002X，请核对。", {}, &counts),
            "身份证号110105********002X，请核对。");
  EXPECT_EQ(counts.cn_id, 1u);
  PiiOptions full;
  full.cn_id_mask = IdMask::full;
  EXPECT_EQ(mask("ID 440524188001010014", full), "ID ******************");
  // A wrong check character is not an ID (and not a Luhn-valid card either).
  EXPECT_EQ(mask("ID 110105194912310021", {}, &counts), "ID 110105194912310021");
  EXPECT_EQ(counts.total(), 0u);
}

TEST(PiiMask, MasksEmailAddresses) {
  PiiCounts counts;
  EXPECT_EQ(mask("联系zhang.san@example.com获取, or a+b@mail.example.co.uk.", {}, &counts),
            "联系[EMAIL]获取, or [EMAIL].");
  EXPECT_EQ(counts.email, 2u);
  for (const char* text : {"user@localhost", "@example.com", "a@b", "price 5 @ 3.00", "x@y.z1"})
    EXPECT_EQ(mask(text), text);
}

TEST(PiiMask, MasksChineseMobileInternationalAndLandlineNumbers) {
  PiiCounts counts;
  EXPECT_EQ(mask("电话：+86 138-1234-5678，备用13912345678，座机010-12345678", {}, &counts),
            "电话：[PHONE]，备用[PHONE]，座机[PHONE]");
  EXPECT_EQ(counts.phone, 3u);
  EXPECT_EQ(mask("call +44 20 7946 0958 or (+86)139 1234 5678"), "call [PHONE] or [PHONE]");
  EXPECT_EQ(mask("+1 (415) 555-2671"), "[PHONE]");
  for (const char* text : {"12345678901", "2023-10-01", "version 1.2.3", "共 138 人", "+12 3",
                           "编号 1381234567890123"})
    EXPECT_EQ(mask(text), text) << text;
}

TEST(PiiMask, StageCountsEachKind) {
  PiiMask stage(PiiOptions{});
  Record record;
  record.parts = {"a@example.com 13812345678", "4111111111111111 / 11010519491231002X"};
  Tally tally = stage.make_tally();
  stage.process(record, tally);
  EXPECT_EQ(record.parts[0], "[EMAIL] [PHONE]");
  EXPECT_EQ(record.parts[1], "****-****-****-1111 / 110105********002X");
  EXPECT_EQ(tally.changed, 1u);
  EXPECT_EQ(tally.reasons[PiiMask::kEmail], 1u);
  EXPECT_EQ(tally.reasons[PiiMask::kPhone], 1u);
  EXPECT_EQ(tally.reasons[PiiMask::kCard], 1u);
  EXPECT_EQ(tally.reasons[PiiMask::kCnId], 1u);
}

}  // namespace
}  // namespace lmf::data
