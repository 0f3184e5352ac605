/* Replaced by the real suite. */
int
main(void)
{
	return 1;
}
