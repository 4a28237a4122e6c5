package deploy

// InWordsForTest is how long until the window, in words.
var InWordsForTest = inWords
