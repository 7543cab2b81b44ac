package push

// SignES256 signs as the web app does, for the tests of the handler.
var SignES256 = signES256
