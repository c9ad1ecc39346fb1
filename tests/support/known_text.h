// What stories260K prints when decoded greedily from BOS for 200 steps,
// stopping at BOS/EOS: exactly what llama2.c's run.c prints (DESIGN.md,
// models/SOURCES.md). The outside truth of the end-to-end tests.
#ifndef FM_TESTS_SUPPORT_KNOWN_TEXT_H_
#define FM_TESTS_SUPPORT_KNOWN_TEXT_H_

namespace fm::testing {

inline constexpr char kStories260KGreedyText[] =
    "Once upon a time, there was a little girl named Lily. She loved to play "
    "outside in the park. One day, she saw a big, red ball. She wanted to "
    "play with it, but it was too high.\nLily's mom said, \"Lily, let's go "
    "to the park.\" Lily was sad and didn't know what to do. She said, \"I "
    "want to play with your ball, but I can't find it.\"\nLily was sad and "
    "didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what "
    "to do.\"\nLily didn't want to help her mom, so she";

}  // namespace fm::testing

#endif  // FM_TESTS_SUPPORT_KNOWN_TEXT_H_
