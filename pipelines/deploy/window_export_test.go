package deploy

// UpdateBranchPrefixForTest is the bot branch prefix WhoMerged knows, for the test that
// keeps it equal to pipelines/update's.
const UpdateBranchPrefixForTest = updateBranchPrefix

// InWordsForTest is how long until the window, in words.
var InWordsForTest = inWords
