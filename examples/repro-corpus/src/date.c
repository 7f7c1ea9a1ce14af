/* the compiler's clock, unless SOURCE_DATE_EPOCH is set */
const char *built = "built " __DATE__ " " __TIME__;
int built_len(void) { return (int)sizeof(__DATE__ " " __TIME__); }
